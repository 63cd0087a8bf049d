package org.vmbackup.store;

import java.util.Objects;

/**
 * One disk of a snapshot being written.
 *
 * @param name the disk's name (e.g. {@code drive-scsi0}): 1 to 128 printable characters
 * @param size its exact size in bytes
 * @param incremental true when only changed ranges will be written: every chunk not written to is taken from the
 *     parent snapshot's disk of the same name (which must exist with the same size), a partly written chunk is
 *     completed from the parent's data
 */
public record DiskSpec(String name, long size, boolean incremental) {
    /** Checks the invariants. */
    public DiskSpec {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.length() > 128 || !name.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("disk name '" + name + "' is not 1-128 printable characters");
        }
        if (size < 0) {
            throw new IllegalArgumentException("disk " + name + ": negative size " + size);
        }
    }

    /**
     * A disk copied in full.
     *
     * @param name its name
     * @param size its size
     * @return the spec
     */
    public static DiskSpec full(String name, long size) {
        return new DiskSpec(name, size, false);
    }
}
