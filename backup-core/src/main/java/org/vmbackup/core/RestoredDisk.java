package org.vmbackup.core;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One disk written by a restore.
 *
 * @param name the disk's name in the archive (e.g. {@code drive-scsi0})
 * @param path the image file, under its final name
 * @param format the image format
 * @param size the disk size in bytes (the virtual size of the image)
 * @param dataBytes bytes stored as data in the archive (the rest were zero ranges, left as holes);
 *     -1 when not counted (a live restore: QEMU copies the data)
 */
public record RestoredDisk(String name, Path path, RestoreFormat format, long size, long dataBytes) {
    /** Checks the fields. */
    public RestoredDisk {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
    }
}
