package org.vmbackup.store;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stores one snapshot's chunks in two stages: the calling worker hashes and compresses a chunk into an object
 * buffer of this writer's pool, and a writer thread of its own puts the object into the backend. So a worker
 * never waits for the disk (JFR of a store backup showed the workers mostly in O_DIRECT {@code pwrite}, i.e.
 * waiting for the device with the CPU work of the next chunk not started), and the chunk's plaintext buffer goes
 * back to the NBD receive as soon as it is encoded, not once it is written. Memory is bounded: an encoder waits
 * for a free object buffer when all are being written or queued.
 */
final class ChunkWriter implements AutoCloseable {
    /** What became of a chunk: its {@link ChunkStoring.Stored}, or the failure. Runs on a writer thread. */
    interface Done {
        void stored(ChunkStoring.Stored stored, Throwable failure);
    }

    private final StoreContext ctx;
    private final ChunkSyncer syncer;
    private final ThreadPoolExecutor threads;
    private final ArrayBlockingQueue<ByteBuffer> free;
    private int pending;

    /**
     * @param writers threads writing objects
     * @param buffers object buffers (each about a chunk), at least {@code writers}: the rest are encoded and queued
     */
    ChunkWriter(StoreContext ctx, ChunkSyncer syncer, String snapshot, int writers, int buffers) {
        this.ctx = ctx;
        this.syncer = syncer;
        this.free = new ArrayBlockingQueue<>(buffers);
        AtomicInteger n = new AtomicInteger();
        this.threads = new ThreadPoolExecutor(writers, writers, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "store-write-" + n.incrementAndGet() + " " + snapshot);
            t.setDaemon(true);
            return t;
        });
        threads.allowCoreThreadTimeOut(true);
        for (int i = 0; i < buffers; i++) {
            free.add(ctx.codec.newObjectBuffer());
        }
    }

    /**
     * Encodes {@code data} on the calling thread and queues its object for a writer thread; {@code done} is told
     * the outcome (at once for an all-zero chunk, a hole). {@code data} is not needed any more once this returns.
     *
     * @throws IOException interrupted while waiting for an object buffer, or the writer is closed
     */
    void store(ByteBuffer data, Done done) throws IOException {
        if (ChunkStoring.isZero(data)) {
            done.stored(new ChunkStoring.Stored(Digests.HOLE, 0), null);
            return;
        }
        ByteBuffer object;
        try {
            object = free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a chunk object buffer");
        }
        ChunkCodec.Encoded e;
        try {
            e = ctx.codec.encode(data, object);
        } catch (RuntimeException x) {
            free.add(object);
            throw x;
        }
        synchronized (this) {
            pending++;
        }
        try {
            threads.execute(() -> write(e, object, done));
        } catch (RejectedExecutionException x) {
            finished(object);
            throw new StoreException("the snapshot writer is closed");
        }
    }

    private void write(ChunkCodec.Encoded e, ByteBuffer object, Done done) {
        ChunkStoring.Stored s = null;
        Throwable failure = null;
        try {
            String name = Digests.chunkName(e.digest());
            boolean added = ctx.backend.putIfAbsentUnsynced(name, e.object());
            long bytes = added ? e.object().remaining() : 0;
            syncer.add(name, !added);
            s = new ChunkStoring.Stored(e.digest(), bytes);
        } catch (IOException | RuntimeException x) {
            failure = x;
        }
        free.add(object);
        try {
            done.stored(s, failure);
        } finally {
            finished(null); // after done: awaitIdle returns only once every outcome (index entry) is recorded
        }
    }

    private void finished(ByteBuffer object) {
        if (object != null) {
            free.add(object);
        }
        synchronized (this) {
            pending--;
            notifyAll();
        }
    }

    /** Waits until every object queued so far is written. */
    synchronized void awaitIdle() throws IOException {
        while (pending > 0) {
            try {
                wait(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while writing chunks");
            }
        }
    }

    @Override
    public void close() {
        threads.shutdownNow();
    }
}
