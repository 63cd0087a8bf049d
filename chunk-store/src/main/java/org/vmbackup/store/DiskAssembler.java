package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Gathers one disk's writes into chunk buffers and hands each chunk to the sealer as soon as all its bytes are
 * there; at commit completes the rest (zeros, or the parent's data for an incremental disk). Thread-safe: the
 * disk's lock guards which chunks are open or done, each open chunk's own lock guards its buffer and coverage
 * (never taken in the other order).
 */
final class DiskAssembler {
    /** Where complete chunks go (the writer's workers). */
    interface Sealer {
        /**
         * Stores {@code data} as chunk {@code chunk} of {@code disk}; {@code buffer} goes back to the pool after;
         * {@code stored} (if not null) completes once the chunk's digest is in the index, with the bytes it added.
         */
        void seal(DiskAssembler disk, int chunk, ByteBuffer data, ByteBuffer buffer, CompletableFuture<Long> stored);
    }

    /** A chunk being filled. */
    private static final class OpenChunk {
        final int number;
        final ByteBuffer buf;
        final int length;
        final Coverage coverage;
        int reservations;
        boolean sealed;

        OpenChunk(int number, ByteBuffer buf, int length, Coverage coverage) {
            this.number = number;
            this.buf = buf;
            this.length = length;
            this.coverage = coverage;
        }
    }

    /** A partly written chunk stored early to free its buffer (completed like at commit); reopened if written to. */
    private record Spilled(Coverage coverage, CompletableFuture<Long> stored) {
    }

    final int number;
    final DiskSpec spec;
    final FixedIndex index;
    /** The parent's index of an incremental disk, else null. */
    final FixedIndex parent;
    final AtomicLong bytesNew = new AtomicLong();
    /** Writes that filled a chunk buffer in place ({@link #tryReserve}) and ones copied in ({@link #write}): the
     *  backup path should show (almost) only the first kind. */
    final AtomicLong inPlaceWrites = new AtomicLong();
    final AtomicLong inPlaceBytes = new AtomicLong();
    final AtomicLong copiedWrites = new AtomicLong();
    final AtomicLong copiedBytes = new AtomicLong();
    private final ChunkBufferPool pool;
    private final Sealer sealer;
    /** Open chunks, oldest first (the first to spill). */
    private final Map<Integer, OpenChunk> open = new LinkedHashMap<>();
    private final Map<Integer, Spilled> spilled = new HashMap<>();
    private final StoreContext ctx;
    private final SnapshotId parentId;
    private final BitSet done = new BitSet();
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 << 10);

    DiskAssembler(StoreContext ctx, int number, DiskSpec spec, FixedIndex parent, SnapshotId parentId,
            ChunkBufferPool pool, Sealer sealer) throws IOException {
        this.ctx = ctx;
        this.parentId = parentId;
        int chunkSize = ctx.config.chunkSize();
        this.number = number;
        this.spec = spec;
        this.index = FixedIndex.create(spec.size(), chunkSize);
        this.parent = parent;
        this.pool = pool;
        this.sealer = sealer;
    }

    String place(long offset) {
        return "disk " + number + " (" + spec.name() + ") offset " + offset;
    }

    private void checkRange(long offset, long length) throws StoreException {
        if (offset < 0 || length < 0 || offset > spec.size() - length) {
            throw new StoreException("disk " + number + " (" + spec.name() + "): range " + offset + "+" + length
                    + " is outside its " + spec.size() + " bytes");
        }
    }

    void write(long offset, ByteBuffer data) throws IOException {
        copiedWrites.incrementAndGet();
        copiedBytes.addAndGet(data.remaining());
        checkRange(offset, data.remaining());
        ByteBuffer src = data.duplicate();
        long pos = offset;
        int cs = index.chunkSize();
        while (src.hasRemaining()) {
            int ci = (int) (pos / cs);
            int in = (int) (pos % cs);
            int n = Math.min(src.remaining(), index.chunkLength(ci) - in);
            // a chunk spilled between openChunk and its lock is reopened by the next openChunk; a complete one throws
            boolean written = false;
            while (!written) {
                OpenChunk c = openChunk(ci, true);
                synchronized (c) {
                    if (!c.sealed) {
                        c.buf.duplicate().position(in).put(src.duplicate().limit(src.position() + n));
                        c.coverage.add(in, in + n);
                        maybeSeal(c);
                        written = true;
                    }
                }
            }
            src.position(src.position() + n);
            pos += n;
        }
        data.position(data.limit());
    }

    void writeZeroes(long offset, long length) throws IOException {
        checkRange(offset, length);
        long pos = offset;
        long end = offset + length;
        int cs = index.chunkSize();
        while (pos < end) {
            int ci = (int) (pos / cs);
            int in = (int) (pos % cs);
            int n = (int) Math.min(end - pos, index.chunkLength(ci) - in);
            if (n == index.chunkLength(ci) && wholeChunkZero(ci)) {
                pos += n;
                continue;
            }
            boolean written = false;
            while (!written) {
                OpenChunk c = openChunk(ci, true);
                synchronized (c) {
                    if (!c.sealed) {
                        fillZeros(c.buf, in, in + n);
                        c.coverage.add(in, in + n);
                        maybeSeal(c);
                        written = true;
                    }
                }
            }
            pos += n;
        }
    }

    /** Records a whole chunk as a hole unless it is open (then the caller zeroes its buffer). */
    private synchronized boolean wholeChunkZero(int ci) throws IOException {
        if (done.get(ci) && !spilled.containsKey(ci)) {
            throw completed(ci);
        }
        if (open.containsKey(ci) || spilled.containsKey(ci)) {
            return false;
        }
        index.set(ci, Digests.HOLE);
        done.set(ci);
        return true;
    }

    private static void fillZeros(ByteBuffer buf, int from, int to) {
        ByteBuffer b = buf.duplicate().position(from).limit(to);
        while (b.hasRemaining()) {
            b.put(ZEROS.duplicate().limit(Math.min(ZEROS.capacity(), b.remaining())));
        }
    }

    private StoreException completed(int ci) {
        return new StoreException(place((long) ci * index.chunkSize()) + ": its chunk is complete and stored "
                + "already (a range written twice after its chunk was full)");
    }

    private OpenChunk openChunk(int ci, boolean block) throws IOException {
        synchronized (this) {
            OpenChunk c = open.get(ci);
            if (c != null) {
                return c;
            }
            if (done.get(ci) && !spilled.containsKey(ci)) {
                throw completed(ci);
            }
            if (!block && spilled.containsKey(ci)) {
                return null; // reopening reads the chunk back: not on an event loop
            }
        }
        // the buffer is taken holding no lock: taking it may spill another chunk of any disk
        ByteBuffer b = block ? pool.acquire() : pool.tryAcquire();
        if (b == null) {
            return null;
        }
        synchronized (this) {
            OpenChunk c = open.get(ci);
            if (c != null) {
                pool.release(b);
                return c;
            }
            Spilled sp = spilled.get(ci);
            if (done.get(ci) && sp == null) {
                pool.release(b);
                throw completed(ci);
            }
            try {
                c = new OpenChunk(ci, b, index.chunkLength(ci), sp == null ? new Coverage() : sp.coverage());
                if (sp != null) {
                    reopen(c, sp);
                }
            } catch (IOException | RuntimeException e) {
                pool.release(b);
                throw e;
            }
            open.put(ci, c);
            return c;
        }
    }

    /** Holding the disk's lock: loads a spilled chunk back into {@code c}'s buffer, to be written to again. */
    private void reopen(OpenChunk c, Spilled sp) throws IOException {
        try {
            // what the spilled version added is garbage once the chunk is rewritten: not new in this snapshot
            bytesNew.addAndGet(-sp.stored().get(10, TimeUnit.MINUTES));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while a chunk was stored");
        } catch (ExecutionException | TimeoutException e) {
            throw new StoreException(place((long) c.number * index.chunkSize()) + ": its partly written chunk could "
                    + "not be stored", e);
        }
        if (index.isHole(c.number)) {
            fillZeros(c.buf, 0, c.length);
        } else {
            byte[] plain = ctx.readChunk(index.digest(c.number), place((long) c.number * index.chunkSize()));
            c.buf.duplicate().put(plain, 0, c.length);
        }
        spilled.remove(c.number);
        done.clear(c.number);
    }

    /**
     * Frees a buffer when every buffer holds a partly written chunk: stores the oldest open chunk early, its gaps
     * completed as at commit; a later write to it reads it back.
     *
     * @return false when no chunk can be spilled (all being filled in place)
     */
    boolean spillOne() throws IOException {
        List<OpenChunk> candidates;
        synchronized (this) {
            candidates = new ArrayList<>(open.values());
        }
        for (OpenChunk c : candidates) {
            synchronized (c) {
                if (c.sealed || c.reservations > 0) {
                    continue;
                }
                fillGaps(c);
                c.sealed = true;
                CompletableFuture<Long> stored = new CompletableFuture<>();
                synchronized (this) {
                    open.remove(c.number);
                    done.set(c.number);
                    spilled.put(c.number, new Spilled(c.coverage, stored));
                }
                pool.sealing();
                sealer.seal(this, c.number, c.buf.duplicate().position(0).limit(c.length), c.buf, stored);
                return true;
            }
        }
        return false;
    }

    /** Holding {@code c}'s lock: the bytes not written, from the parent (incremental) or zeros; coverage unchanged. */
    private void fillGaps(OpenChunk c) throws IOException {
        byte[] from = null;
        if (parent != null && !parent.isHole(c.number)) {
            from = ctx.readChunk(parent.digest(c.number), "parent " + parentId + ", "
                    + place((long) c.number * index.chunkSize()));
        }
        for (int[] gap : c.coverage.gaps(c.length)) {
            if (from != null) {
                c.buf.duplicate().position(gap[0]).put(from, gap[0], gap[1] - gap[0]);
            } else {
                fillZeros(c.buf, gap[0], gap[1]);
            }
        }
    }

    /** Holding {@code c}'s lock: hands it to the sealer once every byte is there and nobody fills it in place. */
    private void maybeSeal(OpenChunk c) {
        if (c.sealed || c.reservations > 0 || c.coverage.covered() != c.length) {
            return;
        }
        c.sealed = true;
        synchronized (this) {
            open.remove(c.number);
            done.set(c.number);
        }
        pool.sealing();
        sealer.seal(this, c.number, c.buf.duplicate().position(0).limit(c.length), c.buf, null);
    }

    /** The in-place path: the chunk memory of a range inside one chunk, or null. Never blocks. */
    SnapshotWriter.InPlaceWrite tryReserve(long offset, int length, Runnable onAbandon) {
        if (offset < 0 || length <= 0 || offset > spec.size() - length) {
            return null;
        }
        int cs = index.chunkSize();
        int ci = (int) (offset / cs);
        int in = (int) (offset % cs);
        if (in + length > index.chunkLength(ci)) {
            return null;
        }
        OpenChunk c;
        try {
            c = openChunk(ci, false);
        } catch (IOException e) {
            return null;
        }
        if (c == null) {
            return null;
        }
        synchronized (c) {
            if (c.sealed) {
                return null;
            }
            c.reservations++;
        }
        ByteBuffer room = c.buf.duplicate().position(in).limit(in + length).slice();
        return new SnapshotWriter.InPlaceWrite() {
            private boolean ended;

            @Override
            public List<ByteBuffer> buffers() {
                return List.of(room);
            }

            @Override
            public void commit() {
                synchronized (c) {
                    if (ended) {
                        return;
                    }
                    ended = true;
                    c.reservations--;
                    inPlaceWrites.incrementAndGet();
                    inPlaceBytes.addAndGet(length);
                    c.coverage.add(in, in + length);
                    maybeSeal(c);
                }
            }

            @Override
            public void abandon() {
                synchronized (c) {
                    if (ended) {
                        return;
                    }
                    ended = true;
                    c.reservations--;
                }
                onAbandon.run();
            }
        };
    }

    /**
     * At commit: completes every open chunk (gaps: zeros, or the parent's bytes for an incremental disk) and
     * takes the parent's digest for every untouched chunk of an incremental disk.
     */
    void finish() throws IOException {
        List<OpenChunk> left;
        synchronized (this) {
            left = new ArrayList<>(open.values());
        }
        for (OpenChunk c : left) {
            synchronized (c) {
                if (c.sealed) {
                    continue;
                }
                if (c.reservations > 0) {
                    throw new StoreException(place((long) c.number * index.chunkSize()) + ": an in-place write is still open at commit");
                }
                fillGaps(c);
                c.coverage.add(0, c.length);
                maybeSeal(c);
            }
        }
        if (parent != null) {
            synchronized (this) {
                // runs of the parent's digests in one write each (a slot never written is a hole already: a hole
                // of the parent needs no write, and the file stays sparse)
                byte[] run = new byte[FixedIndex.PAGE_DIGESTS * Digests.LENGTH];
                int first = -1;
                int n = 0;
                for (int i = done.nextClearBit(0); i < index.count(); i = done.nextClearBit(i + 1)) {
                    if (n > 0 && (i != first + n || n == FixedIndex.PAGE_DIGESTS)) {
                        index.setRun(first, run, n);
                        n = 0;
                    }
                    done.set(i);
                    if (parent.isHole(i)) {
                        index.set(i, Digests.HOLE); // no write: never written, so a hole already
                        continue;
                    }
                    byte[] d = parent.digest(i);
                    if (n == 0) {
                        first = i;
                    }
                    System.arraycopy(d, 0, run, n * Digests.LENGTH, Digests.LENGTH);
                    n++;
                }
                if (n > 0) {
                    index.setRun(first, run, n);
                }
            }
        }
    }
}
