package org.vmbackup.core;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.AbstractList;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdExtent;
import org.vmbackup.vma.VmaBlockStatus;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaIndex;

/**
 * A read-only NBD backend serving one device of an indexed archive: random-access reads through the
 * {@link VmaIndex} (zero blocks read as zeros), and block status reporting the archive's zero blocks as holes
 * (4 KiB granularity). Reads run on the given executor, never on the event loop.
 */
public final class VmaExportBackend implements NbdBackend {
    /**
     * Runs returned per block-status call: one more than the server sends in a reply (1024), so the server cuts the
     * list itself and never has to pad an uncovered tail as data (which would hide holes); clients ask again.
     */
    private static final int MAX_EXTENTS = 1025;
    /** At most this many allocation runs are kept per device (8 bytes each); beyond that the rest counts as data. */
    private static final int MAX_RUNS = 1 << 22;

    private final VmaIndex index;
    private final VmaDevice device;
    private final Executor executor;
    /** Start offsets of the allocation runs, ascending; run i ends where run i+1 starts (the last at the size). */
    private final long[] runStart;
    /** Whether run i is a hole (zeros, nothing stored). */
    private final java.util.BitSet runZero;
    private final int runs;

    /**
     * A backend for {@code device} of {@code index}.
     *
     * @param executor where the blocking positional file reads run
     */
    public VmaExportBackend(VmaIndex index, VmaDevice device, Executor executor) {
        this.index = Objects.requireNonNull(index, "index");
        this.device = Objects.requireNonNull(device, "device");
        this.executor = Objects.requireNonNull(executor, "executor");
        // one linear pass over the index now, so each block-status call is a binary search, not a scan
        long[] starts = new long[16];
        java.util.BitSet zero = new java.util.BitSet();
        int n = 0;
        long at = 0;
        while (at < device.size()) {
            if (n == starts.length) {
                starts = java.util.Arrays.copyOf(starts, starts.length * 2);
            }
            starts[n] = at;
            if (n == MAX_RUNS - 1) { // too fragmented to track: the rest is reported as data, always correct
                n++;
                break;
            }
            VmaBlockStatus st = index.blockStatus(device, at, device.size() - at);
            zero.set(n, st.zero());
            n++;
            at += st.length();
        }
        this.runStart = starts;
        this.runZero = zero;
        this.runs = n;
    }

    /** Bytes of the device stored as data in the archive (the rest are holes). */
    public long dataBytes() {
        long sum = 0;
        for (int i = 0; i < runs; i++) {
            if (!runZero.get(i)) {
                sum += (i + 1 < runs ? runStart[i + 1] : device.size()) - runStart[i];
            }
        }
        return sum;
    }

    /** The archive device served. */
    public VmaDevice device() {
        return device;
    }

    @Override
    public long size() {
        return device.size();
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        return CompletableFuture.supplyAsync(() -> {
            ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(length, length);
            try {
                ByteBuffer nio = buf.nioBuffer(0, length);
                int n = index.read(device, offset, nio);
                if (n < length) {
                    throw new BackupException("device " + device.name() + ": short read at offset " + offset);
                }
                buf.writerIndex(length);
                return buf;
            } catch (RuntimeException e) {
                buf.release();
                throw e;
            }
        }, executor);
    }

    @Override
    public CompletableFuture<List<NbdExtent>> extents(long offset, long length) {
        long end = Math.min(device.size(), offset + length);
        if (offset >= end) {
            return CompletableFuture.completedFuture(List.of());
        }
        int first = runAt(offset);
        int count = (int) Math.min(MAX_EXTENTS, (long) runAt(end - 1) - first + 1);
        return CompletableFuture.completedFuture(new RunView(first, count, offset, end));
    }

    /** The index of the run that contains {@code offset}. */
    private int runAt(long offset) {
        int i = java.util.Arrays.binarySearch(runStart, 0, runs, offset);
        return i < 0 ? -i - 2 : i;
    }

    /**
     * Runs {@code [first, first + count)} clipped to {@code [offset, end)}, made on access: a client asking for one
     * extent (NBD_CMD_FLAG_REQ_ONE, as QEMU does for every block-status call) or a READ split at holes only
     * touches the first few, so a call costs a binary search, not a thousand extents.
     */
    private final class RunView extends AbstractList<NbdExtent> implements RandomAccess {
        private final int first;
        private final int count;
        private final long offset;
        private final long end;

        RunView(int first, int count, long offset, long end) {
            this.first = first;
            this.count = count;
            this.offset = offset;
            this.end = end;
        }

        @Override
        public NbdExtent get(int j) {
            Objects.checkIndex(j, count);
            int i = first + j;
            long at = j == 0 ? offset : runStart[i];
            long len = Math.min(i + 1 < runs ? runStart[i + 1] : device.size(), end) - at;
            return runZero.get(i) ? NbdExtent.hole(at, len) : NbdExtent.data(at, len);
        }

        @Override
        public int size() {
            return count;
        }
    }

    @Override
    public boolean canWrite() {
        return false;
    }

    @Override
    public boolean canMultiConn() {
        return true; // read-only: every connection sees the same bytes
    }

    @Override
    public boolean canExtents() {
        return true;
    }
}
