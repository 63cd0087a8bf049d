package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.CLUSTER_SHIFT;

/** What a {@link VmaWriter} knows about one device: which clusters are written, and its statistics. */
final class WriterDevice {
    final VmaDevice device;
    /** Guarded by the packer's lock. */
    final ClusterBitmap written = new ClusterBitmap();
    // written under the packer's lock, read without it by stats() (which must not wait behind back-pressure)
    volatile long clusters;
    volatile long storedBytes;
    volatile long zeroBytes;

    WriterDevice(VmaDevice device) {
        this.device = device;
    }

    /** Counts one cluster that went into an extent with {@code stored} bytes of data. */
    void count(int validLen, long stored) {
        clusters++;
        storedBytes += stored;
        zeroBytes += validLen - Math.min(validLen, stored);
    }

    /** Fails naming the first cluster of a disk that was not written; the VM state has no fixed size. */
    void checkComplete() {
        if (device.isVmstate()) {
            return;
        }
        long missing = written.firstClear(device.clusterCount());
        if (missing >= 0) {
            throw new VmaFormatException("device " + device.name() + " (dev_id " + device.id() + "): cluster "
                    + missing + " (byte offset " + (missing << CLUSTER_SHIFT) + ") was not written");
        }
    }

    VmaFormatException writtenTwice(long cluster) {
        return new VmaFormatException("device " + device.name() + ": cluster " + cluster + " (byte offset "
                + (cluster << CLUSTER_SHIFT) + ") written twice");
    }
}
