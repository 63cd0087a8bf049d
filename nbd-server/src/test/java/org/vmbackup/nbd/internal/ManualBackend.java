package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.backend.MemoryBackend;

/** A memory backend whose writes complete only when the test says so: for ordering and back-pressure tests. */
final class ManualBackend implements NbdBackend {
    final MemoryBackend store;
    final Deque<Runnable> pending = new ArrayDeque<>();

    ManualBackend(long size) {
        this.store = new MemoryBackend(size);
    }

    @Override
    public long size() {
        return store.size();
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        return store.read(offset, length);
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        pending.add(() -> {
            store.write(offset, data, fua);
            f.complete(null);
        });
        return f;
    }

    @Override
    public CompletableFuture<Void> flush() {
        return CompletableFuture.completedFuture(null);
    }

    /** Completes the newest pending write first (reverse order). */
    void completeNewest() {
        pending.removeLast().run();
    }

    void completeAll() {
        while (!pending.isEmpty()) {
            pending.removeFirst().run();
        }
    }
}
