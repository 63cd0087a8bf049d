package org.vmbackup.core;

import java.util.Objects;

/**
 * One disk as an archive stores it: its archive name (e.g. {@code drive-virtio0}) and its exact size in bytes.
 *
 * @param name the archive name, unique within an archive; not {@code vmstate}; a plain file name
 *     ({@link org.vmbackup.vma.ArchiveNames})
 * @param size the exact disk size in bytes (positive)
 */
public record ArchiveDisk(String name, long size) {
    /** Validates the name and size. */
    public ArchiveDisk {
        Objects.requireNonNull(name, "name");
        Names.requireSafe(name, "disk name");
        if (name.equals("vmstate")) {
            throw new IllegalArgumentException("disk name 'vmstate' is reserved for the VM state stream");
        }
        if (size <= 0) {
            throw new IllegalArgumentException("disk " + name + ": size must be positive, got " + size);
        }
    }
}
