package org.vmbackup.vma;

import java.util.Objects;

/**
 * One device (disk image or the {@code vmstate} stream) of an archive.
 *
 * @param id the dev_id used in the data stream, 1..255
 * @param name the device name, e.g. {@code drive-scsi0}
 * @param size the exact size in bytes (for {@code vmstate} only an estimate)
 */
public record VmaDevice(int id, String name, long size) {
    /** Checks the fields. */
    public VmaDevice {
        Objects.requireNonNull(name, "name");
        if (id < 1 || id > VmaConstants.MAX_DEV_ID_READ) {
            throw new IllegalArgumentException("dev_id out of range 1..255: " + id);
        }
        if (size <= 0) {
            throw new IllegalArgumentException("device " + name + ": size must be > 0: " + size);
        }
    }

    /** Whether this is the VM state stream (named {@code vmstate}), which is sequential and has no fixed size. */
    public boolean isVmstate() {
        return VmaConstants.VMSTATE_NAME.equals(name);
    }

    /** The number of 64 KiB clusters needed to cover {@link #size()}. */
    public long clusterCount() {
        return (size + VmaConstants.CLUSTER_SIZE - 1) >>> VmaConstants.CLUSTER_SHIFT;
    }
}
