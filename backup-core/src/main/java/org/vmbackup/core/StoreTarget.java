package org.vmbackup.core;

import java.io.IOException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
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
    private final boolean full;
    private volatile SnapshotInfo committed;

    private StoreTarget(ChunkStore store, String vm, boolean full) {
        this.store = Objects.requireNonNull(store, "store");
        SnapshotId.checkVmName(vm);
        this.vm = vm;
        this.full = full;
    }

    /**
     * A target making snapshots of {@code vm} in {@code store}.
     *
     * @throws IllegalArgumentException when {@code vm} is not a valid VM name for the store
     */
    public static StoreTarget of(ChunkStore store, String vm) {
        return new StoreTarget(store, vm, false);
    }

    /**
     * The same target, but every disk is copied in full even where a dirty bitmap would allow an incremental
     * copy (the backup still starts new bitmaps, so the next one can be incremental again).
     */
    public StoreTarget full() {
        return new StoreTarget(store, vm, true);
    }

    /** Whether {@link #full()} forced full copies. */
    public boolean fullForced() {
        return full;
    }

    /** The VM whose snapshots this target makes. */
    public String vm() {
        return vm;
    }

    /** The id of the snapshot a backup with this layout makes. */
    public SnapshotId snapshotId(ArchiveLayout layout) {
        return SnapshotId.of(vm, layout.created().truncatedTo(ChronoUnit.SECONDS));
    }

    @Override
    public ArchiveSink open(ArchiveLayout layout) throws IOException {
        return open(layout, Optional.empty(), Set.of());
    }

    /**
     * Opens a sink for a snapshot whose disks named in {@code incremental} receive only what changed since
     * {@code parent}: every chunk not written is taken from the parent's disk of the same name. The backup session
     * calls this once QEMU's dirty bitmaps proved, disk by disk, that they recorded every write since the parent.
     *
     * @param parent the parent snapshot; present when {@code incremental} is not empty
     * @param incremental the archive names of the incremental disks
     * @throws IOException when the snapshot cannot be started or the parent is unusable
     */
    public ArchiveSink open(ArchiveLayout layout, Optional<SnapshotId> parent, Set<String> incremental)
            throws IOException {
        SnapshotId id = snapshotId(layout);
        List<DiskSpec> disks = new ArrayList<>();
        for (ArchiveDisk d : layout.disks()) {
            disks.add(new DiskSpec(d.name(), d.size(), incremental.contains(d.name())));
        }
        Map<String, byte[]> configs = new LinkedHashMap<>();
        for (ConfigBlob c : layout.configs()) {
            configs.put(c.name(), c.content());
        }
        SnapshotSpec spec = new SnapshotSpec(id, disks, layout.hasVmstate(), configs,
                incremental.isEmpty() ? Optional.empty() : parent);
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
