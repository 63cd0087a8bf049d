package org.vmbackup.nbd.backend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.vmbackup.nbd.FuaLevel;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdExtent;
import org.vmbackup.nbd.NbdWriteTarget;

/** A disk that discards every write and reads as zeroes (one big hole): for benchmarks and tests. */
public final class NullBackend implements NbdBackend {
    /**
     * Where every write's payload is received and forgotten, shared by all connections and requests at once:
     * the bytes are never read, so concurrent writers scribbling over each other is harmless.
     */
    private static final ByteBuffer SCRATCH = ByteBuffer.allocateDirect(1 << 20);

    private final long size;

    /** A null disk of exactly {@code size} bytes. */
    public NullBackend(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0: " + size);
        }
        this.size = size;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        ByteBuf out = PooledByteBufAllocator.DEFAULT.directBuffer(length, length);
        out.writeZero(length);
        return CompletableFuture.completedFuture(out);
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
        return CompletableFuture.completedFuture(null);
    }

    /** Receives the payload into scratch memory, skipping the pooled receive buffer. */
    @Override
    public NbdWriteTarget writeTarget(long offset, int length) {
        List<ByteBuffer> parts = new ArrayList<>(length / SCRATCH.capacity() + 1);
        for (int left = length; left > 0; left -= SCRATCH.capacity()) {
            parts.add(SCRATCH.slice(0, Math.min(left, SCRATCH.capacity())));
        }
        return NbdWriteTarget.inPlace(parts);
    }

    @Override
    public CompletableFuture<Void> zero(long offset, long length, boolean fua, boolean mayTrim, boolean fastZero) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<List<NbdExtent>> extents(long offset, long length) {
        return CompletableFuture.completedFuture(List.of(NbdExtent.hole(offset, length)));
    }

    @Override
    public FuaLevel fuaLevel() {
        return FuaLevel.NATIVE;
    }

    @Override
    public boolean canMultiConn() {
        return true;
    }
}
