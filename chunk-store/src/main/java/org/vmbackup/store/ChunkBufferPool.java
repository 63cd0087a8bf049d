package org.vmbackup.store;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fixed number of direct chunk buffers shared by one writer's disks and VM state: the bound on a writer's
 * memory. {@link #acquire} blocks while all are in use and some are being stored (back-pressure); when every
 * buffer holds a partly written chunk and none is being stored, no release would come, so a partly written chunk
 * is spilled (stored early; scattered incremental writes do this all the time). Only if every buffer is being
 * filled in place does the pool grow (logged).
 */
final class ChunkBufferPool {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkBufferPool.class);
    private final int chunkSize;
    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private int created;
    private final int limit;
    private int sealing;
    private boolean warned;

    ChunkBufferPool(int chunkSize, int limit) {
        this.chunkSize = chunkSize;
        this.limit = limit;
    }

    /** Frees a buffer by storing a partly written chunk early. */
    interface Spiller {
        /** @return false when nothing could be spilled */
        boolean spillOne() throws IOException;
    }

    private Spiller spiller = () -> false;

    void spiller(Spiller s) {
        this.spiller = s;
    }

    /**
     * A buffer of chunk size (content undefined), waiting while the pool is exhausted and stores are under way;
     * when every buffer holds a partly written chunk, one of them is spilled (stored early) to free its buffer.
     * Call holding no chunk or disk lock.
     */
    ByteBuffer acquire() throws IOException {
        while (true) {
            synchronized (this) {
                if (!free.isEmpty()) {
                    return free.pop().clear();
                }
                if (created < limit) {
                    created++;
                    return ByteBuffer.allocateDirect(chunkSize);
                }
                if (sealing > 0) {
                    try {
                        wait(TimeUnit.SECONDS.toMillis(1));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted while waiting for a chunk buffer");
                    }
                    continue;
                }
            }
            if (!spiller.spillOne()) {
                synchronized (this) {
                    if (!warned) {
                        warned = true;
                        LOG.warn("all {} chunk buffers are being filled in place: growing the pool", limit);
                    }
                    created++;
                    return ByteBuffer.allocateDirect(chunkSize);
                }
            }
        }
    }

    /** @return how many buffers exist (for tests of the memory bound) */
    synchronized int created() {
        return created;
    }

    int limit() {
        return limit;
    }

    /** A buffer if one is free or may be created now, else null. Never blocks. */
    synchronized ByteBuffer tryAcquire() {
        if (!free.isEmpty()) {
            return free.pop().clear();
        }
        if (created < limit) {
            created++;
            return ByteBuffer.allocateDirect(chunkSize);
        }
        return null;
    }

    /** A chunk's buffer goes to a worker: a release will follow. */
    synchronized void sealing() {
        sealing++;
    }

    /** A worker is done with a sealed chunk's buffer. */
    synchronized void releaseSealed(ByteBuffer b) {
        sealing--;
        free.push(b);
        notifyAll();
    }

    /** A buffer that was never sealed (abort, lost race) goes back. */
    synchronized void release(ByteBuffer b) {
        free.push(b);
        notifyAll();
    }
}
