package org.vmbackup.core.internal;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Early acknowledgement of NBD writes while the guest is paused. QEMU drains the backup jobs' in-flight requests
 * inside the pause (the snapshot's setup waits for them), so each millisecond the archive needs to take them
 * lengthens the guest pause, and so does every CPU cycle this process takes from QEMU meanwhile. While
 * {@link #open()}, writes are acknowledged at once and only stored once the guest runs again ({@link #close()}),
 * up to a byte budget (the retained buffers are the bound). Nothing is durable before the archive's commit
 * anyway; the session waits for {@link #drained()} before committing.
 */
public final class PauseStaging {
    private final long budget;
    private final AtomicLong used = new AtomicLong();
    private final Set<CompletableFuture<Void>> pending = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.ConcurrentLinkedQueue<Runnable> deferred =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    private volatile boolean open;

    /** Staging of at most {@code budget} bytes at a time; closed until {@link #open()}. */
    public PauseStaging(long budget) {
        this.budget = budget;
    }

    /** Starts acknowledging early (before the guest is stopped). */
    public void open() {
        open = true;
    }

    /** Stops acknowledging early (once the guest runs again) and starts storing what was staged. */
    public void close() {
        open = false;
        for (Runnable r = deferred.poll(); r != null; r = deferred.poll()) {
            r.run();
        }
    }

    /** Runs {@code store} now, or once staging closes if it is open (then in arrival order). */
    public void defer(Runnable store) {
        if (open) {
            deferred.add(store);
            if (open) {
                return;
            }
            // closed meanwhile: close() may have drained the queue before our add
            for (Runnable r = deferred.poll(); r != null; r = deferred.poll()) {
                r.run();
            }
            return;
        }
        store.run();
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
