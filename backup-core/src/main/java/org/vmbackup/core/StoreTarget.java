package org.vmbackup.core;

import java.io.IOException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.DiskSpec;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.SnapshotSpec;

/**
 * A backup into a chunk store ({@code org.vmbackup.store}): each backup becomes one snapshot of {@code vm}, named
 * by the VM and the backup's instant (whole seconds, UTC). The store stays open and owned by the caller; the
 * snapshot appears in it only when the backup commits. After a successful backup {@link #committed()} says which
 * snapshot it made.
 */
public final class StoreTarget implements ArchiveTarget {
    private final ChunkStore store;
    private final String vm;
    private volatile SnapshotInfo committed;

    private StoreTarget(ChunkStore store, String vm) {
        this.store = Objects.requireNonNull(store, "store");
        SnapshotId.checkVmName(vm);
        this.vm = vm;
    }

    /**
     * A target making snapshots of {@code vm} in {@code store}.
     *
     * @throws IllegalArgumentException when {@code vm} is not a valid VM name for the store
     */
    public static StoreTarget of(ChunkStore store, String vm) {
        return new StoreTarget(store, vm);
    }

    @Override
    public ArchiveSink open(ArchiveLayout layout) throws IOException {
        SnapshotId id = SnapshotId.of(vm, layout.created().truncatedTo(ChronoUnit.SECONDS));
        List<DiskSpec> disks = new ArrayList<>();
        for (ArchiveDisk d : layout.disks()) {
            disks.add(DiskSpec.full(d.name(), d.size()));
        }
        Map<String, byte[]> configs = new LinkedHashMap<>();
        for (ConfigBlob c : layout.configs()) {
            configs.put(c.name(), c.content());
        }
        SnapshotSpec spec = new SnapshotSpec(id, disks, layout.hasVmstate(), configs, Optional.empty());
        return new StoreArchiveSink(store.create(spec), id, store.describe(), info -> committed = info);
    }

    /** The snapshot the last committed backup through this target made, if any. */
    public Optional<SnapshotInfo> committed() {
        return Optional.ofNullable(committed);
    }

    /** The store this target writes into. */
    public ChunkStore store() {
        return store;
    }
}
