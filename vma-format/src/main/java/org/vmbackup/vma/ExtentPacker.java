package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Packs clusters into extents and hands full extents to the {@link OutputPump}. Owns the writer's lock and its
 * failed/closed state: everything that touches the extent being filled runs under {@link #lock}.
 */
final class ExtentPacker {
    final ReentrantLock lock = new ReentrantLock();
    private final OutputPump pump;
    private final ExtentHeaderCodec codec;
    final int clustersPerExtent;
    /** The extent being filled, or null until a writer takes the next pool buffer ({@link #ensureExtent}). */
    private PackedExtent current;
    private volatile long extents;
    /** Reservations handed out and neither committed nor abandoned. */
    int pendingReservations;
    boolean closed;
    /** Set when the output failed or an extent could not be handed over; later calls fail with it as cause. */
    private RuntimeException failure;

    /** Starts the output with {@code header}, after taking the first extent buffer. */
    ExtentPacker(OutputPump pump, ExtentHeaderCodec codec, int clustersPerExtent, ByteBuffer header) {
        this.pump = pump;
        this.codec = codec;
        this.clustersPerExtent = clustersPerExtent;
        // buffer first: an output failing on the header is then reported by the first write or close, not
        // (depending on thread timing) by the constructor
        this.current = new PackedExtent(pump.take());
        pump.submit(header, false);
    }

    /** Extents handed to the output so far. */
    long extents() {
        return extents;
    }

    /** Archive bytes written so far. */
    long written() {
        return pump.written();
    }

    /** The extent being filled, or null. Lock held. */
    PackedExtent current() {
        return current;
    }

    /** Makes {@code e} the extent being filled. Lock held. */
    void current(PackedExtent e) {
        current = e;
    }

    /** Fails if the writer failed or is closed. Lock held. */
    void checkOpen() {
        if (failure != null) {
            throw new VmaFormatException("the VMA writer failed earlier: " + failure.getMessage(), failure);
        }
        if (closed) {
            throw new IllegalStateException("the VMA writer is closed");
        }
    }

    /** Records the first failure (later calls report it) and returns {@code e} to throw. Lock held. */
    RuntimeException failed(RuntimeException e) {
        if (failure == null) {
            failure = e;
        }
        return e;
    }

    /**
     * Makes sure there is a current extent with room, taking a pool buffer if needed. Caller holds the lock; while
     * the output is slow this waits for a buffer with the lock released (so that reservations can still commit
     * and unpin theirs), which is why callers call it before changing any state.
     */
    void ensureExtent() {
        checkOpen();
        while (current == null) {
            ByteBuffer b = poll();
            if (b == null) {
                lock.unlock();
                try {
                    b = pump.take();
                } catch (RuntimeException e) {
                    lock.lock();
                    throw failed(e);
                }
                lock.lock();
                if (current != null || failure != null || closed) {
                    pump.recycle(b);
                    checkOpen();
                    continue;
                }
            }
            current = new PackedExtent(b);
        }
    }

    /** A free pool buffer or null; an output failure becomes the writer's failure. Lock held. */
    ByteBuffer poll() {
        try {
            return pump.poll();
        } catch (RuntimeException e) {
            throw failed(e);
        }
    }

    /**
     * Puts one cluster into the current extent; caller holds the lock and called {@link #ensureExtent()} in the
     * same hold. {@code src} may be null iff mask is 0.
     */
    void emit(WriterDevice ds, long cluster, int mask, ByteBuffer src, int srcAt, int validLen) {
        if (!ds.device.isVmstate() && !ds.written.testAndSet(cluster)) {
            throw ds.writtenTwice(cluster);
        }
        PackedExtent e = current;
        int at = e.dataEnd();
        for (int m = mask; m != 0; m &= m - 1) {
            int from = Integer.numberOfTrailingZeros(m) * BLOCK_SIZE;
            int len = Math.min(BLOCK_SIZE, validLen - from);
            e.buf.put(at, src, srcAt + from, len);
            if (len < BLOCK_SIZE) {
                ZeroBlocks.clear(e.buf, at + len, BLOCK_SIZE - len);
            }
            at += BLOCK_SIZE;
        }
        e.addSlot(ExtentHeaderCodec.slot(mask, ds.device.id(), cluster), mask, mask);
        ds.count(validLen, (long) Integer.bitCount(mask) * BLOCK_SIZE);
        if (e.slotCount >= clustersPerExtent) {
            seal(e);
        }
    }

    /** No more clusters go into {@code e}; it goes to the output once no reservation in it is pending. Lock held. */
    void seal(PackedExtent e) {
        if (current == e) {
            current = null;
        }
        e.sealed = true;
        if (e.pending == 0) {
            finish(e);
        }
    }

    /** Squeezes out zero blocks of in-place clusters, encodes the header and hands the extent to the output. */
    void finish(PackedExtent e) {
        try {
            if (e.needsCompaction) {
                e.compact();
            }
            codec.encode(e.buf, e.slots, e.slotCount, e.blockCount);
            e.buf.position(0).limit(e.dataEnd());
            pump.submit(e.buf, true);
            extents++;
        } catch (RuntimeException ex) {
            throw failed(ex);
        }
    }

    /** Seals the last extent (a config-only archive still gets one, empty) and drains the output. Lock held. */
    void finishArchive() {
        if (extents == 0 || (current != null && current.slotCount > 0)) {
            ensureExtent();
            seal(current);
        }
        closed = true;
        pump.finish();
    }

    /** Stops the output at once. Lock held. */
    void cancel() {
        pump.cancel();
    }
}
