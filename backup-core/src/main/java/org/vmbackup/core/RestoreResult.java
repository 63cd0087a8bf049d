package org.vmbackup.core;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a disk restore produced.
 *
 * @param disks the images written, in archive order
 * @param archiveBytes (decompressed) archive bytes read
 * @param duration wall time of the restore
 */
public record RestoreResult(List<RestoredDisk> disks, long archiveBytes, Duration duration) {
    /** Copies the list. */
    public RestoreResult {
        disks = List.copyOf(disks);
        Objects.requireNonNull(duration, "duration");
    }

    /** The sum of the disk sizes. */
    public long totalBytes() {
        return disks.stream().mapToLong(RestoredDisk::size).sum();
    }
}
