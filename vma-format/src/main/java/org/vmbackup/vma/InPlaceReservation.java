package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Room for whole clusters of a disk inside one or two extent buffers, filled in place by the caller
 * ({@link VmaWriter#tryReserve}). Pins its extents until committed (the zero blocks found are then dropped) or
 * abandoned (the writer then fails: the archive can no longer be completed).
 */
final class InPlaceReservation {
    private final ExtentPacker packer;
    private final WriterDevice ds;
    private final long offset;
    private final int length;

    /** Where in which extent: {@code count} slots from {@code firstSlot}, their data in {@code region}. */
    private record Part(ByteBuffer region, PackedExtent extent, int firstSlot, int count) {
    }

    private final List<Part> parts = new ArrayList<>(2);
    private final List<ByteBuffer> views = new ArrayList<>(2);
    private boolean ended;

    private InPlaceReservation(ExtentPacker packer, WriterDevice ds, long offset, int length) {
        this.packer = packer;
        this.ds = ds;
        this.offset = offset;
        this.length = length;
    }

    /**
     * Reserves {@code [offset, offset + length)} of {@code ds}, or returns null when that is not whole clusters of
     * the disk, more than an extent's worth, or no extent buffer is free right now. Never waits. Takes the lock.
     *
     * @throws VmaFormatException if a cluster of the range was already written, or the writer failed
     */
    static InPlaceReservation tryReserve(ExtentPacker packer, ClusterAssembler assembler, WriterDevice ds,
            long offset, int length) {
        VmaDevice dev = ds.device;
        if (dev.isVmstate() || length <= 0 || (offset & (CLUSTER_SIZE - 1)) != 0 || (length & (CLUSTER_SIZE - 1)) != 0
                || offset < 0 || offset + length > (dev.size() & -CLUSTER_SIZE)) {
            return null; // partial clusters (and the device's short last cluster) go through write()
        }
        int n = length >>> CLUSTER_SHIFT;
        if (n > packer.clustersPerExtent) {
            return null;
        }
        long first = offset >>> CLUSTER_SHIFT;
        packer.lock.lock();
        try {
            packer.checkOpen();
            for (long c = first; c < first + n; c++) {
                if (ds.written.get(c) || assembler.isPartial(dev, c)) {
                    throw ds.writtenTwice(c);
                }
            }
            if (packer.current() != null && packer.current().holdsVmstate) {
                // never pin an extent with vmstate clusters (see PackedExtent.holdsVmstate): it goes out now,
                // never pinned, and the reservation takes a fresh one
                packer.seal(packer.current());
            }
            if (packer.current() == null) {
                ByteBuffer b = packer.poll();
                if (b == null) {
                    return null;
                }
                packer.current(new PackedExtent(b));
            }
            PackedExtent current = packer.current();
            int room = packer.clustersPerExtent - current.slotCount;
            ByteBuffer spare = null;
            if (room < n) {
                spare = packer.poll();
                if (spare == null) {
                    return null;
                }
            }
            InPlaceReservation r = new InPlaceReservation(packer, ds, offset, length);
            int inFirst = Math.min(room, n);
            r.add(place(ds, current, first, inFirst), current, current.slotCount - inFirst, inFirst);
            if (current.slotCount >= packer.clustersPerExtent) {
                packer.seal(current);
            }
            if (inFirst < n) {
                PackedExtent next = new PackedExtent(spare);
                packer.current(next);
                r.add(place(ds, next, first + inFirst, n - inFirst), next, 0, n - inFirst);
            }
            packer.pendingReservations++;
            return r;
        } finally {
            packer.lock.unlock();
        }
    }

    /** Appends {@code n} clusters with all blocks stored to {@code e} and returns their data region. Lock held. */
    private static ByteBuffer place(WriterDevice ds, PackedExtent e, long cluster, int n) {
        int at = e.dataEnd();
        for (int i = 0; i < n; i++) {
            ds.written.testAndSet(cluster + i);
            e.addSlot(ExtentHeaderCodec.slot(FULL_MASK, ds.device.id(), cluster + i), FULL_MASK, FULL_MASK);
        }
        e.pending++;
        return e.buf.slice(at, n * CLUSTER_SIZE);
    }

    private void add(ByteBuffer region, PackedExtent e, int firstSlot, int count) {
        parts.add(new Part(region, e, firstSlot, count));
        views.add(region.duplicate()); // the caller moves positions; masks are read from the region
    }

    /** The memory to fill with the device bytes from the reserved offset on, in order (position to limit). */
    List<ByteBuffer> buffers() {
        return views;
    }

    /**
     * The bytes are in place: records which blocks hold data and lets the extent go to the output.
     *
     * @throws VmaFormatException if the writer failed meanwhile (the data is then lost with the archive)
     */
    void commit() {
        int[][] masks = new int[parts.size()][];
        for (int p = 0; p < parts.size(); p++) {
            Part part = parts.get(p);
            masks[p] = new int[part.count()];
            for (int i = 0; i < part.count(); i++) {
                masks[p][i] = ZeroBlocks.mask(part.region(), i * CLUSTER_SIZE, CLUSTER_SIZE);
            }
        }
        packer.lock.lock();
        try {
            end();
            packer.checkOpen();
            for (int p = 0; p < parts.size(); p++) {
                PackedExtent e = parts.get(p).extent();
                int firstSlot = parts.get(p).firstSlot();
                for (int i = 0; i < masks[p].length; i++) {
                    int m = masks[p][i];
                    e.dataMasks[firstSlot + i] = m;
                    e.needsCompaction |= m != FULL_MASK;
                    ds.count(CLUSTER_SIZE, (long) Integer.bitCount(m) * BLOCK_SIZE);
                }
                e.pending--;
                if (e.sealed && e.pending == 0) {
                    packer.finish(e);
                }
            }
        } finally {
            packer.lock.unlock();
        }
    }

    /** The bytes will not arrive in full: the writer fails. Never throws; a no-op after commit. */
    void abandon() {
        packer.lock.lock();
        try {
            if (ended) {
                return;
            }
            end();
            for (Part part : parts) {
                part.extent().pending--;
            }
            packer.failed(new VmaFormatException("device " + ds.device.name() + ": the in-place write at offset "
                    + offset + " (" + length + " bytes) was abandoned before all its bytes arrived"));
        } finally {
            packer.lock.unlock();
        }
    }

    private void end() {
        if (ended) {
            throw new IllegalStateException("reservation already ended");
        }
        ended = true;
        packer.pendingReservations--;
    }
}
