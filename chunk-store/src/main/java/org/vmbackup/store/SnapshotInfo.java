package org.vmbackup.store;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A committed snapshot as its manifest describes it.
 *
 * @param id its id
 * @param disks its disks in order (disk number = position)
 * @param vmstateSize the VM state's size, empty when the snapshot has none
 * @param configs configuration blob names and sizes, in order (the bytes: {@link SnapshotReader#config})
 * @param parent the snapshot its incremental disks were based on
 * @param bytesNew the stored bytes of chunks this snapshot added to the store (disks, VM state, configs)
 */
public record SnapshotInfo(SnapshotId id, List<DiskInfo> disks, OptionalLong vmstateSize, Map<String, Long> configs,
        Optional<SnapshotId> parent, long bytesNew) {
    /** Checks the invariants and copies the collections. */
    public SnapshotInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(vmstateSize, "vmstateSize");
        Objects.requireNonNull(parent, "parent");
        disks = List.copyOf(disks);
        configs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(configs));
    }

    /** @return the sum of the disks' sizes */
    public long logicalDiskSize() {
        return disks.stream().mapToLong(DiskInfo::size).sum();
    }

    /**
     * The number of the disk named {@code name}.
     *
     * @param name a disk name
     * @return its number, or -1
     */
    public int diskNumber(String name) {
        for (int i = 0; i < disks.size(); i++) {
            if (disks.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }
}
