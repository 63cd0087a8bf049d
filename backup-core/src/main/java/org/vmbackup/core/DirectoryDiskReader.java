package org.vmbackup.core;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Reads the raw disk files of a directory archive front to back for {@link DirectoryArchiveSource#read}: only their
 * data extents, several packed into one buffer, while a read-ahead thread fills the next buffers; each buffer is then
 * passed on as data runs and all-zero runs. One hand-over between the threads per buffer, not per extent: a sparse
 * image has thousands of extents of a few hundred KiB, and a hand-over each (a thread wake-up, on a busy machine a
 * wait for a core) cost more than reading them. The buffers are direct, so the file's bytes go from the page cache
 * into them and from them to the image without another copy. Memory: {@link #BUFFERS} x {@link #BUFFER} bytes.
 */
final class DirectoryDiskReader implements AutoCloseable {
    static final int BUFFER = 4 << 20;
    /** One being scanned and written, two being read ahead. */
    static final int BUFFERS = 3;
    private static final int BLOCK = 4096;
    private static final ByteBuffer ZERO_BLOCK = ByteBuffer.allocateDirect(BLOCK).asReadOnlyBuffer();

    /** Reads {@code dst} fully from {@code pos}; fails naming the file when it ends first. */
    @FunctionalInterface
    interface FullRead {
        void read(FileChannel ch, ByteBuffer dst, long pos) throws IOException;
    }

    private final Batch[] batches = new Batch[BUFFERS];
    private final ExecutorService ahead = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "directory-archive-read-ahead");
        t.setDaemon(true);
        return t;
    });
    private long bytesRead;

    DirectoryDiskReader() {
        for (int i = 0; i < BUFFERS; i++) {
            batches[i] = new Batch(ByteBuffer.allocateDirect(BUFFER));
        }
    }

    /** File bytes read so far. */
    long bytesRead() {
        return bytesRead;
    }

    /**
     * Passes disk {@code disk} of {@code size} bytes, read from {@code ch}, to {@code visitor} in offset order: the
     * data {@code extents} ({@code [start, length]}, in order) scanned into data and zero runs, and zero runs for
     * everything between them.
     */
    void copy(FileChannel ch, List<long[]> extents, long size, int disk, ArchiveVisitor visitor, FullRead reader)
            throws IOException {
        ExtentCursor cursor = new ExtentCursor(extents);
        ArrayDeque<Future<Batch>> inFlight = new ArrayDeque<>();
        for (Batch b : batches) {
            if (!cursor.fill(b)) {
                break;
            }
            inFlight.add(ahead.submit(() -> b.read(ch, reader)));
        }
        long covered = 0;
        while (!inFlight.isEmpty()) {
            Batch b = await(inFlight.poll());
            bytesRead += b.bytes;
            for (int s = 0, pos = 0; s < b.count; pos += b.len[s], s++) {
                if (b.at[s] > covered) {
                    visitor.zero(disk, covered, b.at[s] - covered);
                }
                runs(visitor, disk, b.at[s], b.buf.slice(pos, b.len[s]));
                covered = b.at[s] + b.len[s];
            }
            if (cursor.fill(b)) { // its buffer is free again: refill it behind the others
                inFlight.add(ahead.submit(() -> b.read(ch, reader)));
            }
        }
        if (covered < size) {
            visitor.zero(disk, covered, size - covered);
        }
    }

    /** Stops the read-ahead thread (a read still running into a buffer nobody looks at any more is harmless). */
    @Override
    public void close() {
        ahead.shutdownNow();
    }

    /** Pieces of the file packed into one buffer: piece {@code s} is {@code len[s]} bytes from file offset {@code at[s]}. */
    private static final class Batch {
        final ByteBuffer buf;
        long[] at = new long[16];
        int[] len = new int[16];
        int count;
        int bytes;

        Batch(ByteBuffer buf) {
            this.buf = buf;
        }

        void add(long offset, int length) {
            if (count == at.length) {
                at = Arrays.copyOf(at, count * 2);
                len = Arrays.copyOf(len, count * 2);
            }
            at[count] = offset;
            len[count++] = length;
            bytes += length;
        }

        Batch read(FileChannel ch, FullRead reader) throws IOException {
            for (int s = 0, pos = 0; s < count; pos += len[s], s++) {
                reader.read(ch, buf.limit(pos + len[s]).position(pos), at[s]);
            }
            return this;
        }
    }

    /** Walks the extents, cutting them where a buffer is full. */
    private static final class ExtentCursor {
        private final List<long[]> extents;
        private int next;
        private long at;

        ExtentCursor(List<long[]> extents) {
            this.extents = extents;
            this.at = extents.isEmpty() ? 0 : extents.get(0)[0];
        }

        /** Fills {@code b} afresh with the next pieces, up to a full buffer; false when there are none left. */
        boolean fill(Batch b) {
            b.count = 0;
            b.bytes = 0;
            while (next < extents.size() && b.bytes < BUFFER) {
                long[] x = extents.get(next);
                int n = (int) Math.min(BUFFER - b.bytes, x[0] + x[1] - at);
                b.add(at, n);
                at += n;
                if (at == x[0] + x[1] && ++next < extents.size()) {
                    at = extents.get(next)[0];
                }
            }
            return b.count > 0;
        }
    }

    private static Batch await(Future<Batch> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading the archive");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        }
    }

    /** Passes {@code buf} (position 0), disk bytes from {@code base}, on as runs of data and of all-zero blocks. */
    static void runs(ArchiveVisitor visitor, int disk, long base, ByteBuffer buf) throws IOException {
        int n = buf.limit();
        int at = 0;
        while (at < n) {
            boolean zero = isZero(buf, at, Math.min(BLOCK, n - at));
            int end = at + BLOCK;
            while (end < n && isZero(buf, end, Math.min(BLOCK, n - end)) == zero) {
                end += BLOCK;
            }
            end = Math.min(end, n);
            if (zero) {
                visitor.zero(disk, base + at, end - at);
            } else {
                visitor.data(disk, base + at, buf.slice(at, end - at).asReadOnlyBuffer());
            }
            at = end;
        }
    }

    private static boolean isZero(ByteBuffer b, int from, int len) {
        // a data block almost always has a non-zero byte among its first eight: answered without a slice or a scan
        if (len >= Long.BYTES && b.getLong(from) != 0) {
            return false;
        }
        return b.slice(from, len).mismatch(ZERO_BLOCK.slice(0, len)) < 0;
    }
}
