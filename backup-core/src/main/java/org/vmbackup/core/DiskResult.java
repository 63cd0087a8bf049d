package org.vmbackup.core;

import java.util.Objects;

/**
 * What one disk's backup stored.
 *
 * @param name the archive name
 * @param device the QEMU device (or node) the disk was read from
 * @param size the disk size
 * @param dataBytes bytes stored as data: what QEMU sent over NBD as data (for an incremental disk only the
 *     clusters its dirty bitmap marked)
 * @param zeroBytes bytes QEMU sent as zero ranges: they cost no data in the archive
 * @param incremental whether only the clusters changed since the parent snapshot were copied (chunk stores only)
 * @param mode why the disk was copied the way it was, in words, e.g. {@code "incremental from web1/...Z"} or
 *     {@code "full: bitmap missing (QEMU restarted?)"}; {@code "full"} for archives that are always full
 * @param bytesNew the stored bytes this backup added to the archive for this disk (after dedup and compression),
 *     or -1 when the archive format does not tell
 */
public record DiskResult(String name, String device, long size, long dataBytes, long zeroBytes,
        boolean incremental, String mode, long bytesNew) {
    /** Validates the counters. */
    public DiskResult {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(mode, "mode");
        if (size < 0 || dataBytes < 0 || zeroBytes < 0 || bytesNew < -1) {
            throw new IllegalArgumentException("negative size or counter for disk " + name);
        }
    }

    /** A disk copied in full into an archive that does not count its new bytes. */
    public DiskResult(String name, String device, long size, long dataBytes, long zeroBytes) {
        this(name, device, size, dataBytes, zeroBytes, false, "full", -1);
    }
}
