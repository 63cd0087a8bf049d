package org.vmbackup.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.CompletableFuture;

/**
 * Writes zero buffers for backends without a native zero operation, one bounded chunk at a time and one
 * chunk in flight. Loops instead of chaining futures when the backend completes synchronously, so a zero
 * request over gigabytes never builds a deep call stack.
 */
final class ZeroEmulation {
    private static final int CHUNK = 1 << 20;

    private final NbdBackend backend;
    private final long end;
    private final boolean fua;
    private final ByteBuf zeroes;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private long pos;

    private ZeroEmulation(NbdBackend backend, long offset, long length, boolean fua) {
        this.backend = backend;
        this.pos = offset;
        this.end = offset + length;
        this.fua = fua;
        int n = (int) Math.min(CHUNK, length);
        this.zeroes = PooledByteBufAllocator.DEFAULT.directBuffer(n, n);
        zeroes.writeZero(n);
    }

    static CompletableFuture<Void> writeZeroes(NbdBackend backend, long offset, long length, boolean fua) {
        if (length <= 0) {
            return CompletableFuture.completedFuture(null);
        }
        ZeroEmulation z = new ZeroEmulation(backend, offset, length, fua);
        z.next();
        return z.done;
    }

    /** Issues chunks until one completes asynchronously (it then resumes here) or all are written. */
    private void next() {
        while (pos < end) {
            int n = (int) Math.min(zeroes.capacity(), end - pos);
            long at = pos;
            pos += n;
            CompletableFuture<Void> written;
            try {
                written = backend.write(at, zeroes.slice(0, n), fua && pos == end);
            } catch (RuntimeException e) {
                written = CompletableFuture.failedFuture(e);
            }
            if (!written.isDone()) {
                written.whenComplete((v, e) -> {
                    if (e != null) {
                        finish(e);
                    } else {
                        next();
                    }
                });
                return;
            }
            if (written.isCompletedExceptionally()) {
                written.whenComplete((v, e) -> finish(e));
                return;
            }
        }
        finish(null);
    }

    private void finish(Throwable failure) {
        zeroes.release();
        if (failure != null) {
            done.completeExceptionally(failure);
        } else {
            done.complete(null);
        }
    }
}
