package org.vmbackup.vma;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ReadableByteChannel;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Reads a channel on a thread of its own into a fixed set of reused buffers, so the work behind the source
 * (a zstd or gzip decompressor: one core's worth) overlaps with the consumer's (parsing the VMA, writing images).
 * Memory is bounded: {@code buffers * bufferSize} whatever the stream's length. A failure of the source (its
 * exception object, unchanged, so {@link VmaFormatException}s stay format errors) is thrown by the {@link #read}
 * that reaches it, after every byte read before it.
 */
final class ReadAheadChannel implements ReadableByteChannel {
    /** The end of the stream, after the last buffer. */
    private static final ByteBuffer END = ByteBuffer.allocate(0);

    private final ReadableByteChannel source;
    private final BlockingQueue<ByteBuffer> free;
    private final BlockingQueue<Object> filled;
    private final Thread worker;
    private ByteBuffer current;
    private boolean started;
    private boolean ended;
    /** A failure met after bytes this read returned, thrown by the next read (and every later one). */
    private Throwable failed;
    private volatile boolean open = true;

    ReadAheadChannel(ReadableByteChannel source, int buffers, int bufferSize, String threadName) {
        this.source = source;
        this.free = new ArrayBlockingQueue<>(buffers);
        // room for every buffer plus the end marker or a failure, so the worker never blocks on it
        this.filled = new ArrayBlockingQueue<>(buffers + 1);
        for (int i = 0; i < buffers; i++) {
            free.add(ByteBuffer.allocate(bufferSize)); // heap: a stream-backed source reads into the array itself
        }
        this.worker = new Thread(this::fill, threadName);
        worker.setDaemon(true);
    }

    private void fill() {
        try {
            while (open) {
                ByteBuffer b = free.take();
                b.clear();
                int n = 0;
                Throwable failure = null;
                try {
                    while (b.hasRemaining() && (n = source.read(b)) >= 0) {
                        if (n == 0) {
                            Thread.onSpinWait();
                        }
                    }
                } catch (Throwable t) {
                    failure = t;
                }
                if (b.position() > 0) {
                    filled.put(b.flip()); // the bytes before a failure first
                }
                if (failure != null) {
                    if (open) {
                        filled.put(failure);
                    }
                    return;
                }
                if (n < 0) {
                    filled.put(END);
                    return;
                }
            }
        } catch (InterruptedException e) {
            // closed while waiting for a free buffer
        } finally {
            if (!open) {
                closeSource(); // only this thread may free a decompressor it may still be inside
            }
        }
    }

    private void closeSource() {
        try {
            source.close();
        } catch (IOException | RuntimeException e) {
            // closing after the consumer gave up: nothing left to tell
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!open) {
            throw new ClosedChannelException();
        }
        if (failed != null) {
            throw rethrow(failed);
        }
        if (!dst.hasRemaining()) {
            return 0;
        }
        if (!started) {
            started = true;
            worker.start();
        }
        int total = 0;
        while (dst.hasRemaining()) {
            if (current == null || !current.hasRemaining()) {
                if (current != null) {
                    free.add(current);
                    current = null;
                }
                if (ended) {
                    break;
                }
                // only block when nothing was copied yet: a partial read returns what it has
                Object next = total == 0 ? take() : filled.poll();
                if (next == null) {
                    break;
                }
                if (next == END) {
                    ended = true;
                    break;
                }
                if (next instanceof Throwable t) {
                    ended = true;
                    failed = t;
                    if (total > 0) {
                        break; // this call returns the bytes before the failure, the next one throws
                    }
                    throw rethrow(t);
                }
                current = (ByteBuffer) next;
            }
            int k = Math.min(dst.remaining(), current.remaining());
            dst.put(dst.position(), current, current.position(), k);
            dst.position(dst.position() + k);
            current.position(current.position() + k);
            total += k;
        }
        return total == 0 && ended ? -1 : total;
    }

    private Object take() throws IOException {
        try {
            return filled.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the archive stream");
        }
    }

    private static IOException rethrow(Throwable t) throws IOException {
        if (t instanceof IOException io) {
            throw io;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new UncheckedIOException(new IOException(t));
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() throws IOException {
        if (!open) {
            return;
        }
        open = false;
        if (!started) {
            source.close();
            return;
        }
        // the worker closes the source itself (a native decompressor must not be freed under its feet); the
        // interrupt ends a wait for a buffer or an interruptible read of the file or pipe below
        worker.interrupt();
        try {
            worker.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!worker.isAlive()) {
            closeSource(); // a worker that had ended before the close did not close it (closing twice is harmless)
        }
    }
}
