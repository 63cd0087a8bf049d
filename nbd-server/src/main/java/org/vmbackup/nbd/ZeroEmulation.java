package org.vmbackup.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.CompletableFuture;

/** Writes zero buffers for backends without a native zero operation, one bounded chunk at a time. */
final class ZeroEmulation {
    private static final int CHUNK = 1 << 20;

    private ZeroEmulation() {
    }

    static CompletableFuture<Void> writeZeroes(NbdBackend backend, long offset, long length, boolean fua) {
        if (length <= 0) {
            return CompletableFuture.completedFuture(null);
        }
        int n = (int) Math.min(CHUNK, length);
        ByteBuf zeroes = PooledByteBufAllocator.DEFAULT.directBuffer(n, n);
        zeroes.writeZero(n);
        CompletableFuture<Void> written;
        try {
            written = backend.write(offset, zeroes, fua && n == length);
        } catch (RuntimeException e) {
            written = CompletableFuture.failedFuture(e);
        }
        return written.whenComplete((v, e) -> zeroes.release())
                .thenCompose(v -> writeZeroes(backend, offset + n, length - n, fua));
    }
}
