package org.vmbackup.core.internal;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import org.vmbackup.store.SnapshotId;

/**
 * The names of our dirty bitmaps: {@code vmbackup-<store id, 8 chars>-<vm>-<snapshot instant>}. A bitmap so named
 * was started in the same instant as that snapshot of that VM in that store, so it has recorded every guest write
 * since the snapshot: the name is the proof of its parent. A name that does not parse this way is not ours and is
 * never touched.
 */
final class BitmapNames {
    private final String prefix;
    private final String vm;

    /** The names for snapshots of {@code vm} in the store with id {@code storeId}. */
    BitmapNames(String storeId, String vm) {
        this.prefix = "vmbackup-" + storeId.substring(0, Math.min(8, storeId.length())) + "-" + vm + "-";
        this.vm = vm;
    }

    /** The bitmap started with snapshot {@code id}. */
    String of(SnapshotId id) {
        return prefix + id.instantText();
    }

    /** The snapshot the bitmap {@code name} was started with, or empty when it is not ours (this store, this VM). */
    Optional<SnapshotId> parse(String name) {
        if (!name.startsWith(prefix)) {
            return Optional.empty();
        }
        try {
            Instant at = Instant.parse(name.substring(prefix.length()));
            return at.getNano() == 0 ? Optional.of(new SnapshotId(vm, at)) : Optional.empty();
        } catch (DateTimeParseException e) {
            return Optional.empty(); // e.g. the bitmap of a VM whose name extends ours ("web" and "web-2")
        }
    }
}
