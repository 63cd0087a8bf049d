package org.vmbackup.core;

import java.util.Objects;

/**
 * What one disk's backup stored.
 *
 * @param name the archive name
 * @param device the QEMU device (or node) the disk was read from
 * @param size the disk size
 * @param dataBytes bytes stored as data
 * @param zeroBytes bytes QEMU sent as zero ranges: they cost no data in the archive
 */
public record DiskResult(String name, String device, long size, long dataBytes, long zeroBytes) {
    /** Validates the counters. */
    public DiskResult {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(device, "device");
        if (size < 0 || dataBytes < 0 || zeroBytes < 0) {
            throw new IllegalArgumentException("negative size or counter for disk " + name);
        }
    }
}
