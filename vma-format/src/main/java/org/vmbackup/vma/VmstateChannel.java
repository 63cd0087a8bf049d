package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.CLUSTER_SIZE;
import static org.vmbackup.vma.VmaConstants.FULL_MASK;

import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * The sequential stream of the {@code vmstate} device: fills one cluster at a time, emitting clusters 0, 1, 2, ...;
 * the last one is zero-padded by {@link #finish()}. Not for concurrent use.
 */
final class VmstateChannel implements WritableByteChannel {
    private final ExtentPacker packer;
    private final WriterDevice ds;
    private final ByteBuffer buf = ByteBuffer.allocate(CLUSTER_SIZE);
    private long next;
    private boolean open = true;

    VmstateChannel(ExtentPacker packer, WriterDevice ds) {
        this.packer = packer;
        this.ds = ds;
    }

    @Override
    public int write(ByteBuffer src) {
        if (!open) {
            throw new IllegalStateException("vmstate channel closed");
        }
        int n = src.remaining();
        while (src.hasRemaining()) {
            if (buf.position() == 0 && src.remaining() >= CLUSTER_SIZE) {
                // whole clusters go straight from the caller's buffer into the extent: one copy less
                emitCluster(src, src.position());
                src.position(src.position() + CLUSTER_SIZE);
                continue;
            }
            int k = Math.min(buf.remaining(), src.remaining());
            buf.put(buf.position(), src, src.position(), k);
            buf.position(buf.position() + k);
            src.position(src.position() + k);
            if (!buf.hasRemaining()) {
                emitBuffer();
            }
        }
        return n;
    }

    private void emitBuffer() {
        emitCluster(buf, 0);
        buf.clear();
    }

    private void emitCluster(ByteBuffer src, int at) {
        // Every block goes into the archive, all-zero ones too (FULL_MASK), unlike a disk's: the reference
        // `vma extract` writes a vmstate block to vmstate.bin only when its mask bit is set (it registers no
        // write_zeroes for the vmstate stream), appending, so an elided zero block would be cut out of its
        // vmstate.bin and every later byte shifted. Our reader reads either; the cost is the stream's few zero
        // blocks (QEMU's migration stream already leaves zero pages out) and the last cluster's padding.
        int mask = FULL_MASK;
        packer.lock.lock();
        try {
            packer.ensureExtent();
            // An extent pinned by a reservation goes out when that commits, maybe after the next extent: the
            // vmstate clusters go elsewhere, so that they reach the archive in sequence.
            while (packer.current().pending > 0) {
                packer.seal(packer.current());
                packer.ensureExtent();
            }
            packer.current().holdsVmstate = true;
            packer.emit(ds, next++, mask, src, at, CLUSTER_SIZE);
        } finally {
            packer.lock.unlock();
        }
    }

    /** Emits the buffered tail, zero padded, and closes the stream. */
    void finish() {
        if (open && buf.position() > 0) {
            ZeroBlocks.clear(buf, buf.position(), buf.remaining());
            emitBuffer();
        }
        open = false;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        finish();
    }
}
