package org.vmbackup.vma;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Writes finished extents to the output on its own thread, recycling a fixed pool of extent buffers: producers
 * block in {@link #take()} when the output is slower than they are (back-pressure with bounded memory).
 */
final class OutputPump {
    private record Chunk(ByteBuffer buffer, boolean recycle) {
    }

    private static final Chunk END = new Chunk(ByteBuffer.allocate(0), false);

    private final WritableByteChannel out;
    private final BlockingQueue<ByteBuffer> free;
    private final BlockingQueue<Chunk> queue;
    private final Thread thread;
    private volatile Throwable failure;
    private volatile long written;

    OutputPump(WritableByteChannel out, int buffers, int bufferSize) {
        this.out = out;
        this.free = new ArrayBlockingQueue<>(buffers);
        this.queue = new ArrayBlockingQueue<>(buffers + 2);
        for (int i = 0; i < buffers; i++) {
            free.add(ByteBuffer.allocateDirect(bufferSize));
        }
        this.thread = new Thread(this::run, "vma-writer-output");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try {
            while (true) {
                Chunk c = queue.take();
                if (c == END) {
                    return;
                }
                ByteBuffer b = c.buffer();
                long n = b.remaining();
                while (b.hasRemaining()) {
                    out.write(b);
                }
                written += n;
                if (c.recycle()) {
                    free.add(b.clear());
                }
            }
        } catch (InterruptedException e) {
            failure = e;
        } catch (Throwable e) {
            failure = e;
        }
    }

    /** An empty pool buffer, waiting while all are queued for output. */
    ByteBuffer take() {
        try {
            while (true) {
                checkFailure();
                ByteBuffer b = free.poll(100, TimeUnit.MILLISECONDS);
                if (b != null) {
                    return b;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmaFormatException("interrupted while waiting for the archive output", e);
        }
    }

    /** An empty pool buffer if one is free right now, else null; never waits. */
    ByteBuffer poll() {
        checkFailure();
        return free.poll();
    }

    /** Gives back a pool buffer that was taken but not used. */
    void recycle(ByteBuffer buffer) {
        free.add(buffer.clear());
    }

    /** Queues a buffer (position..limit) for output; pool buffers come back to the pool afterwards. */
    void submit(ByteBuffer buffer, boolean recycle) {
        enqueue(new Chunk(buffer, recycle));
    }

    private void enqueue(Chunk chunk) {
        try {
            while (!queue.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
                checkFailure();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmaFormatException("interrupted while queueing archive output", e);
        }
    }

    /** Bytes handed to the output so far. */
    long written() {
        return written;
    }

    /** Waits until everything queued is written, then closes the output. */
    void finish() {
        enqueue(END);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VmaFormatException("interrupted while finishing the archive", e);
        }
        checkFailure();
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing the archive: " + e.getMessage(), e);
        }
    }

    /** Stops without writing what is queued and closes the output quietly. */
    void cancel() {
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            out.close();
        } catch (IOException | RuntimeException e) {
            // cancelling: the original failure matters, not this one
        }
    }

    private void checkFailure() {
        Throwable f = failure;
        if (f instanceof IOException io) {
            throw new UncheckedIOException("writing the archive: " + io.getMessage(), io);
        }
        if (f != null) {
            throw new VmaFormatException("writing the archive failed: " + f, f);
        }
    }
}
