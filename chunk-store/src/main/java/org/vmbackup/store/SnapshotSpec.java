package org.vmbackup.store;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a snapshot being written will hold.
 *
 * @param id its id (must not exist in the store yet)
 * @param disks its disks, numbered by position from 0
 * @param vmstate true when a VM state stream follows ({@link SnapshotWriter#vmstateChannel}); its size is not
 *     needed up front
 * @param configs configuration blobs by name (e.g. {@code qemu-server.conf}), insertion order kept
 * @param parent the snapshot incremental disks take their unwritten chunks from
 */
public record SnapshotSpec(SnapshotId id, List<DiskSpec> disks, boolean vmstate, Map<String, byte[]> configs,
        Optional<SnapshotId> parent) {
    /** Checks the invariants and copies the collections. */
    public SnapshotSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(parent, "parent");
        disks = List.copyOf(disks);
        Map<String, byte[]> copy = new LinkedHashMap<>();
        configs.forEach((k, v) -> copy.put(Objects.requireNonNull(k), v.clone()));
        configs = java.util.Collections.unmodifiableMap(copy);
        var names = new HashSet<String>();
        for (DiskSpec d : disks) {
            if (!names.add(d.name())) {
                throw new IllegalArgumentException("disk " + d.name() + " is named twice");
            }
            if (d.incremental() && parent.isEmpty()) {
                throw new IllegalArgumentException("disk " + d.name() + " is incremental but no parent snapshot is given");
            }
        }
        for (String c : configs.keySet()) {
            if (c.isEmpty() || c.length() > 128 || !c.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f)) {
                throw new IllegalArgumentException("config name '" + c + "' is not 1-128 printable characters");
            }
        }
        if (parent.isPresent() && !parent.get().vm().equals(id.vm())) {
            throw new IllegalArgumentException("parent " + parent.get() + " is of another VM than " + id);
        }
    }

    /**
     * A snapshot copied in full.
     *
     * @param id its id
     * @param disks its disks
     * @param vmstate whether a VM state follows
     * @param configs its configuration blobs
     * @return the spec
     */
    public static SnapshotSpec full(SnapshotId id, List<DiskSpec> disks, boolean vmstate, Map<String, byte[]> configs) {
        return new SnapshotSpec(id, disks, vmstate, configs, Optional.empty());
    }

    /**
     * The disks' names in order.
     *
     * @return the names
     */
    public List<String> diskNames() {
        var out = new ArrayList<String>();
        disks.forEach(d -> out.add(d.name()));
        return out;
    }
}
