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
 * buffer holds a partly written chunk and none is being stored, no release can come, so the pool grows by one
 * rather than deadlock (logged: such a writer scatters its writes over more chunks than the pool holds).
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

    /** A cleared buffer of chunk size, waiting while the pool is exhausted and stores are under way. */
    synchronized ByteBuffer acquire() throws IOException {
        while (free.isEmpty() && created >= limit && sealing > 0) {
            try {
                wait(TimeUnit.SECONDS.toMillis(1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for a chunk buffer");
            }
        }
        if (free.isEmpty()) {
            if (created >= limit && !warned) {
                warned = true;
                LOG.warn("all {} chunk buffers hold partly written chunks: growing the pool (writes scattered over many chunks)", limit);
            }
            created++;
            return ByteBuffer.allocateDirect(chunkSize);
        }
        return free.pop().clear();
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
