package org.vmbackup.core.internal;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Early acknowledgement of NBD writes while the guest is paused. QEMU drains the backup jobs' in-flight requests
 * inside the pause (the snapshot's setup waits for them), so each millisecond the archive needs to take them
 * lengthens the guest pause. While {@link #open()}, writes are acknowledged at once and stored afterwards, up to
 * a byte budget (the retained buffers are the bound); FLUSH waits for them, so NBD semantics hold (writes are
 * durable after FLUSH, and nothing is durable before the archive's commit anyway).
 */
public final class PauseStaging {
    private final long budget;
    private final AtomicLong used = new AtomicLong();
    private final Set<CompletableFuture<Void>> pending = ConcurrentHashMap.newKeySet();
    private volatile boolean open;

    /** Staging of at most {@code budget} bytes at a time; closed until {@link #open()}. */
    public PauseStaging(long budget) {
        this.budget = budget;
    }

    /** Starts acknowledging early (before the guest is stopped). */
    public void open() {
        open = true;
    }

    /** Stops acknowledging early (once the guest runs again); staged writes still complete. */
    public void close() {
        open = false;
    }

    /**
     * Reserves {@code bytes} of the budget for an early acknowledgement.
     *
     * @return a future to complete once the write is stored, or null when staging is closed or the budget is spent
     */
    public CompletableFuture<Void> tryStage(long bytes) {
        if (!open) {
            return null;
        }
        long u;
        do {
            u = used.get();
            if (u + bytes > budget) {
                return null;
            }
        } while (!used.compareAndSet(u, u + bytes));
        CompletableFuture<Void> stored = new CompletableFuture<>();
        pending.add(stored);
        stored.whenComplete((v, e) -> {
            pending.remove(stored);
            used.addAndGet(-bytes);
        });
        return stored;
    }

    /** Completes once every write staged so far is stored (or failed). */
    public CompletableFuture<Void> drained() {
        CompletableFuture<?>[] all = pending.toArray(CompletableFuture<?>[]::new);
        return CompletableFuture.allOf(all).handle((v, e) -> null);
    }

    /** Bytes staged and not yet stored. */
    public long stagedBytes() {
        return used.get();
    }
}
