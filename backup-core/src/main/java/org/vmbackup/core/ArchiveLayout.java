package org.vmbackup.core;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * What an archive will hold, known before the first byte is written: the disks (an index into this list is
 * the disk number the sink's write methods take), whether a VM state stream follows and its estimated size,
 * the config blobs, and the archive's identity.
 *
 * @param uuid the archive's UUID
 * @param created the backup instant recorded in the archive
 * @param disks the disks, in archive order; names unique
 * @param vmstateEstimate the estimated VM state size in bytes, or {@code 0} when the archive has no VM state
 * @param configs the config blobs; names unique
 */
public record ArchiveLayout(UUID uuid, Instant created, List<ArchiveDisk> disks, long vmstateEstimate,
        List<ConfigBlob> configs) {
    /** Validates and copies the lists. */
    public ArchiveLayout {
        Objects.requireNonNull(uuid, "uuid");
        Objects.requireNonNull(created, "created");
        disks = List.copyOf(disks);
        configs = List.copyOf(configs);
        if (vmstateEstimate < 0) {
            throw new IllegalArgumentException("vmstateEstimate must not be negative: " + vmstateEstimate);
        }
        Set<String> seen = new HashSet<>();
        for (ArchiveDisk d : disks) {
            if (!seen.add(d.name())) {
                throw new IllegalArgumentException("duplicate disk name in archive layout: " + d.name());
            }
        }
        seen.clear();
        for (ConfigBlob c : configs) {
            if (!seen.add(c.name())) {
                throw new IllegalArgumentException("duplicate config name in archive layout: " + c.name());
            }
        }
    }

    /** Whether the archive carries a VM state stream. */
    public boolean hasVmstate() {
        return vmstateEstimate > 0;
    }

    /** The disk with archive number {@code index}. */
    public ArchiveDisk disk(int index) {
        return disks.get(index);
    }
}
