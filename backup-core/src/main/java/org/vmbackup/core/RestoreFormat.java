package org.vmbackup.core;

/** The image format a restored disk is written in. */
public enum RestoreFormat {
    /** A sparse raw file of the exact device size (zero ranges stay holes). */
    RAW("raw"),
    /** A qcow2 image made by {@code qemu-img convert} reading the archive over NBD. */
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
