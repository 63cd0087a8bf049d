package org.vmbackup.core.internal;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;

/**
 * The snapshots an incremental plan asks about, each read from the store once: the plan asks for the few its
 * dirty bitmaps name, not for the VM's whole history (each snapshot is a manifest to read).
 */
final class SnapshotLookup {
    private final ChunkStore store;
    private final Map<SnapshotId, Optional<SnapshotInfo>> found = new HashMap<>();
    /** {@link #noneOf}'s answer, once asked (one VM per plan). */
    private Boolean none;

    SnapshotLookup(ChunkStore store) {
        this.store = store;
    }

    /** The snapshot, read on first use; empty when it is not in the store. */
    Optional<SnapshotInfo> find(SnapshotId id) throws IOException {
        Optional<SnapshotInfo> known = found.get(id);
        if (known == null) {
            known = store.find(id);
            found.put(id, known);
        }
        return known;
    }

    /** A snapshot {@link #find} found earlier; empty when it was not asked for or not there. */
    Optional<SnapshotInfo> known(SnapshotId id) {
        return found.getOrDefault(id, Optional.empty());
    }

    /** Whether the store holds no snapshot of {@code vm} (false when that cannot be told): for messages only. */
    boolean noneOf(String vm) {
        if (none == null) {
            try {
                none = store.list(Optional.of(vm)).isEmpty();
            } catch (IOException | RuntimeException e) {
                none = false;
            }
        }
        return none;
    }
}
