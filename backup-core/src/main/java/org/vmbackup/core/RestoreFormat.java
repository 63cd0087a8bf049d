package org.vmbackup.core;

/** The image format a restored disk is written in. */
public enum RestoreFormat {
    /** A sparse raw file of the exact device size (zero ranges stay holes). */
    RAW("raw"),
    /** A qcow2 v3 image (64 KiB clusters, holes unallocated), written directly by the restore. */
    QCOW2("qcow2");

    private final String extension;

    RestoreFormat(String extension) {
        this.extension = extension;
    }

    /** The file name extension (and {@code qemu-img} format name) without the dot. */
    public String extension() {
        return extension;
    }
}
