package org.vmbackup.nbd.backend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.vmbackup.nbd.FuaLevel;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdBackendException;
import org.vmbackup.nbd.NbdErrno;
import org.vmbackup.nbd.NbdExtent;
import org.vmbackup.nbd.NbdWriteTarget;

/**
 * A sparse in-memory disk: 64 KiB chunks, allocated on first write, in a two-level table of atomic references
 * (no lock anywhere; concurrent requests to different chunks never contend, and only overlapping requests
 * race, which NBD leaves undefined). Chunks zeroed or trimmed whole are freed; zeroing with NO_HOLE keeps them
 * "allocated" (reported as zero but not a hole) without using memory.
 *
 * <p>The data lives off the Java heap in direct buffers, so the heap stays small and the garbage collector
 * never copies disk data: the JVM's {@code -XX:MaxDirectMemorySize} (default: the heap size) bounds what
 * clients can write. A write that cannot get memory fails with ENOSPC.
 *
 * <p>{@link #preallocated(long)} instead reserves and touches all the memory up front, like
 * {@code nbdkit memory allocator=malloc}: no page faults or allocations while serving, every block reads as
 * data, and zeroing or trimming overwrites in place instead of freeing.
 */
public final class MemoryBackend implements NbdBackend {
    static final int CHUNK_SHIFT = 16;
    static final int CHUNK = 1 << CHUNK_SHIFT;
    private static final int PAGE_SHIFT = 10;
    private static final int PAGE = 1 << PAGE_SHIFT;
    /** Marks a chunk that reads as zeroes but counts as allocated. */
    private static final ByteBuffer ALLOCATED_ZERO = ByteBuffer.allocateDirect(0);
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(CHUNK).asReadOnlyBuffer();

    /** Preallocated memory comes in slabs of this many chunks (64 MiB), sliced into chunk views. */
    private static final int SLAB_CHUNKS = 1 << 10;

    private final long size;
    private final boolean preallocated;
    private final AtomicReferenceArray<AtomicReferenceArray<ByteBuffer>> pages;
    /** The preallocated slabs (empty when lazy): a write inside one is received as one contiguous region. */
    private final List<ByteBuffer> slabs = new ArrayList<>();

    /** An all-zero disk of exactly {@code size} bytes. */
    public MemoryBackend(long size) {
        this(size, false);
    }

    /**
     * An all-zero disk of exactly {@code size} bytes whose memory is allocated and touched now, so serving
     * never allocates; fails with {@link OutOfMemoryError} if the direct memory limit is too small.
     */
    public static MemoryBackend preallocated(long size) {
        return new MemoryBackend(size, true);
    }

    private MemoryBackend(long size, boolean preallocated) {
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0: " + size);
        }
        this.size = size;
        long chunks = (size + CHUNK - 1) >>> CHUNK_SHIFT;
        long pageCount = (chunks + PAGE - 1) >>> PAGE_SHIFT;
        if (pageCount > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size too large: " + size);
        }
        this.pages = new AtomicReferenceArray<>((int) pageCount);
        this.preallocated = preallocated;
        if (preallocated) {
            for (long c = 0; c < chunks; c += SLAB_CHUNKS) {
                int n = (int) Math.min(SLAB_CHUNKS, chunks - c);
                // allocateDirect zero-fills, which also faults every page in before the first request.
                ByteBuffer slab = ByteBuffer.allocateDirect(n * CHUNK);
                slabs.add(slab);
                for (int i = 0; i < n; i++) {
                    set(c + i, slab.slice(i * CHUNK, CHUNK));
                }
            }
        }
    }

    @Override
    public long size() {
        return size;
    }

    private AtomicReferenceArray<ByteBuffer> page(long chunk, boolean create) {
        int p = (int) (chunk >>> PAGE_SHIFT);
        AtomicReferenceArray<ByteBuffer> page = pages.get(p);
        if (page == null && create) {
            pages.compareAndSet(p, null, new AtomicReferenceArray<>(PAGE));
            page = pages.get(p);
        }
        return page;
    }

    private ByteBuffer get(long chunk) {
        AtomicReferenceArray<ByteBuffer> page = page(chunk, false);
        return page == null ? null : page.get((int) (chunk & (PAGE - 1)));
    }

    private void set(long chunk, ByteBuffer data) {
        AtomicReferenceArray<ByteBuffer> page = page(chunk, data != null);
        if (page != null) {
            page.set((int) (chunk & (PAGE - 1)), data);
        }
    }

    /** The chunk's buffer, allocating a zero-filled one if it has none yet. */
    private ByteBuffer writable(long chunk) {
        AtomicReferenceArray<ByteBuffer> page = page(chunk, true);
        int i = (int) (chunk & (PAGE - 1));
        while (true) {
            ByteBuffer cur = page.get(i);
            if (cur != null && cur != ALLOCATED_ZERO) {
                return cur;
            }
            ByteBuffer fresh = ByteBuffer.allocateDirect(CHUNK);
            if (page.compareAndSet(i, cur, fresh)) {
                return fresh;
            }
        }
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        ByteBuf out = PooledByteBufAllocator.DEFAULT.directBuffer(length, length);
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            long chunk = pos >>> CHUNK_SHIFT;
            int in = (int) (pos & (CHUNK - 1));
            int n = (int) Math.min(CHUNK - in, end - pos);
            ByteBuffer data = get(chunk);
            if (data == null || data == ALLOCATED_ZERO) {
                out.writeZero(n);
            } else {
                out.writeBytes(data.slice(in, n));
            }
            pos += n;
        }
        return CompletableFuture.completedFuture(out);
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
        int src = data.readerIndex();
        long pos = offset;
        long end = offset + data.readableBytes();
        try {
            while (pos < end) {
                long chunk = pos >>> CHUNK_SHIFT;
                int in = (int) (pos & (CHUNK - 1));
                int n = (int) Math.min(CHUNK - in, end - pos);
                data.getBytes(src, writable(chunk).slice(in, n));
                src += n;
                pos += n;
            }
        } catch (OutOfMemoryError e) {
            return CompletableFuture.failedFuture(new NbdBackendException(NbdErrno.ENOSPC,
                    "memory disk cannot allocate a chunk at offset " + pos + ": " + e.getMessage()));
        }
        return CompletableFuture.completedFuture(null);
    }

    /**
     * Receives writes straight into the chunks: one region per slab when preallocated, one per chunk otherwise
     * (chunks are allocated here, as {@link #write} would). Null when memory runs out, so {@link #write} reports
     * ENOSPC.
     */
    @Override
    public NbdWriteTarget writeTarget(long offset, int length) {
        List<ByteBuffer> regions = new ArrayList<>(preallocated ? 2 : (length >>> CHUNK_SHIFT) + 2);
        long pos = offset;
        long end = offset + length;
        try {
            while (pos < end) {
                long chunk = pos >>> CHUNK_SHIFT;
                int in = (int) (pos & (CHUNK - 1));
                int n;
                if (preallocated) {
                    long slabStart = (chunk / SLAB_CHUNKS) * SLAB_CHUNKS * CHUNK;
                    ByteBuffer slab = slabs.get((int) (chunk / SLAB_CHUNKS));
                    int at = (int) (pos - slabStart);
                    n = (int) Math.min(slab.capacity() - at, end - pos);
                    regions.add(slab.slice(at, n));
                } else {
                    n = (int) Math.min(CHUNK - in, end - pos);
                    regions.add(writable(chunk).slice(in, n));
                }
                pos += n;
            }
        } catch (OutOfMemoryError e) {
            return null;
        }
        return NbdWriteTarget.inPlace(regions);
    }

    @Override
    public CompletableFuture<Void> zero(long offset, long length, boolean fua, boolean mayTrim, boolean fastZero) {
        clear(offset, length, mayTrim ? null : ALLOCATED_ZERO, !mayTrim);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        if (preallocated) {
            return CompletableFuture.completedFuture(null); // trimmed data is undefined: keeping it is valid
        }
        // Trimmed data is undefined until rewritten; freeing only whole chunks keeps partial ones intact.
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            long chunk = pos >>> CHUNK_SHIFT;
            int in = (int) (pos & (CHUNK - 1));
            int n = (int) Math.min(CHUNK - in, end - pos);
            if (n == CHUNK || (pos + n == size && in == 0)) {
                set(chunk, null);
            }
            pos += n;
        }
        return CompletableFuture.completedFuture(null);
    }

    private void clear(long offset, long length, ByteBuffer wholeChunk, boolean provision) {
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            long chunk = pos >>> CHUNK_SHIFT;
            int in = (int) (pos & (CHUNK - 1));
            int n = (int) Math.min(CHUNK - in, end - pos);
            boolean whole = !preallocated && (n == CHUNK || (in == 0 && pos + n == size));
            if (whole) {
                set(chunk, wholeChunk);
            } else {
                ByteBuffer data = get(chunk);
                if (data != null && data != ALLOCATED_ZERO) {
                    data.slice(in, n).put(ZEROES.slice(0, n));
                } else if (data == null && provision) {
                    // A hole reads as zero already; mark it allocated as NO_HOLE asks.
                    page(chunk, true).compareAndSet((int) (chunk & (PAGE - 1)), null, ALLOCATED_ZERO);
                }
            }
            pos += n;
        }
    }

    @Override
    public CompletableFuture<Void> flush() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<List<NbdExtent>> extents(long offset, long length) {
        List<NbdExtent> out = new ArrayList<>();
        long pos = offset;
        long end = Math.min(size, offset + length);
        while (pos < end) {
            long chunk = pos >>> CHUNK_SHIFT;
            int in = (int) (pos & (CHUNK - 1));
            long n = Math.min(CHUNK - in, end - pos);
            ByteBuffer data = get(chunk);
            boolean hole = data == null;
            boolean zero = data == null || data == ALLOCATED_ZERO;
            NbdExtent e = new NbdExtent(pos, n, hole, zero);
            if (!out.isEmpty()) {
                NbdExtent last = out.get(out.size() - 1);
                if (last.hole() == hole && last.zero() == zero) {
                    e = new NbdExtent(last.offset(), last.length() + n, hole, zero);
                    out.set(out.size() - 1, e);
                    pos += n;
                    continue;
                }
            }
            out.add(e);
            pos += n;
        }
        return CompletableFuture.completedFuture(out);
    }

    @Override
    public FuaLevel fuaLevel() {
        return FuaLevel.NATIVE;
    }

    @Override
    public boolean canMultiConn() {
        return true;
    }

    /** Bytes of chunk storage currently allocated (for tests and metrics). */
    public long allocatedBytes() {
        long total = 0;
        for (int p = 0; p < pages.length(); p++) {
            AtomicReferenceArray<ByteBuffer> page = pages.get(p);
            if (page != null) {
                for (int i = 0; i < PAGE; i++) {
                    ByteBuffer d = page.get(i);
                    if (d != null) {
                        total += d.capacity();
                    }
                }
            }
        }
        return total;
    }
}
