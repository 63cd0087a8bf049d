package org.vmbackup.vma;

import java.util.List;

/**
 * Totals of a writer so far.
 *
 * @param archiveBytes uncompressed archive bytes handed to the output (header and extents)
 * @param extents extents finished
 * @param devices per-device figures in dev_id order
 */
public record VmaWriterStats(long archiveBytes, long extents, List<VmaDeviceStats> devices) {
    /** Copies the list. */
    public VmaWriterStats {
        devices = List.copyOf(devices);
    }

    /** Bytes of data blocks stored, over all devices. */
    public long storedBytes() {
        return devices.stream().mapToLong(VmaDeviceStats::storedBytes).sum();
    }

    /** Zero bytes skipped, over all devices. */
    public long zeroBytes() {
        return devices.stream().mapToLong(VmaDeviceStats::zeroBytes).sum();
    }
}
