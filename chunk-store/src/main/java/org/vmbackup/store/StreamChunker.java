package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * The VM state channel: cuts the stream at chunk-size boundaries into pool buffers and hands each full buffer to
 * the sealer; the digests arrive in their slots. One writing thread.
 */
final class StreamChunker implements WritableByteChannel {
    /** Where full stream chunks go. */
    interface Sealer {
        /** Stores {@code data} as entry {@code slot} of {@code stream}; {@code buffer} goes back to the pool after. */
        void seal(StreamChunker stream, int slot, ByteBuffer data, ByteBuffer buffer) throws IOException;
    }

    private final ChunkBufferPool pool;
    private final Sealer sealer;
    private final List<Long> ends = new ArrayList<>();
    private final List<byte[]> digests = new ArrayList<>();
    private ByteBuffer current;
    private long length;
    private boolean open = true;
    final java.util.concurrent.atomic.AtomicLong bytesNew = new java.util.concurrent.atomic.AtomicLong();

    StreamChunker(ChunkBufferPool pool, Sealer sealer) {
        this.pool = pool;
        this.sealer = sealer;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (!open) {
            throw new ClosedChannelException();
        }
        int n = src.remaining();
        while (src.hasRemaining()) {
            if (current == null) {
                current = pool.acquire();
            }
            int k = Math.min(current.remaining(), src.remaining());
            current.put(src.duplicate().limit(src.position() + k));
            src.position(src.position() + k);
            length += k;
            if (!current.hasRemaining()) {
                cut();
            }
        }
        return n;
    }

    private void cut() throws IOException {
        ByteBuffer b = current;
        current = null;
        int slot;
        synchronized (this) {
            slot = digests.size();
            digests.add(null);
            ends.add(length);
        }
        pool.sealing();
        sealer.seal(this, slot, b.duplicate().flip(), b);
    }

    synchronized void setDigest(int slot, byte[] digest) {
        digests.set(slot, digest);
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
        if (current != null && current.position() > 0) {
            cut();
        } else if (current != null) {
            pool.release(current);
            current = null;
        }
    }

    /** Once closed and every chunk stored: the stream's index. */
    synchronized StreamIndex index() {
        List<StreamIndex.Entry> out = new ArrayList<>();
        for (int i = 0; i < ends.size(); i++) {
            out.add(new StreamIndex.Entry(ends.get(i), digests.get(i)));
        }
        return new StreamIndex(out);
    }

    long length() {
        return length;
    }
}
