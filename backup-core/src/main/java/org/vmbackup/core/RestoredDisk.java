package org.vmbackup.core;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One disk written by a restore.
 *
 * @param device the archive device name
 * @param path the image file, under its final name
 * @param format the image format
 * @param size the device size in bytes (the virtual size of the image)
 * @param dataBytes bytes stored as data in the archive (the rest were zero ranges, left as holes);
 *     -1 when not counted (a live restore: QEMU copies the data)
 */
public record RestoredDisk(String device, Path path, RestoreFormat format, long size, long dataBytes) {
    /** Checks the fields. */
    public RestoredDisk {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
    }
}
