package org.vmbackup.core.internal;

import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.vmbackup.core.BackupException;

/**
 * Keeps a slow or failing archive away from the guest. QEMU's copy-before-write holds a guest write until the old
 * data reached our NBD export, so every archive call an export makes is bounded here: the answer to QEMU completes
 * normally when the archive took the data, and also when the archive failed or did not answer within the limit.
 * From that moment on the archive is given up: every pending and every later request is acknowledged at once and
 * its data dropped (QEMU then has nothing to wait for and no error to hand to the guest), and the session is told
 * why, naming the disk, so it fails and cancels the jobs. An archive that lost data is never committed: the
 * session checks {@link #dropping()} before it commits.
 *
 * <p>Why acknowledge rather than fail the request: with QEMU's default {@code on-cbw-error=break-guest-write} an
 * error on a copy-before-write request fails the guest's write, and the job's filter cannot be switched to
 * {@code break-snapshot} at run time (it does not support reopening, QEMU 7.2 and 10.0).
 */
public final class GuestFirstGuard implements AutoCloseable {
    private final Duration limit;
    private final Consumer<BackupException> onFailure;
    private final ScheduledThreadPoolExecutor timer;
    private final Set<CompletableFuture<Void>> pending = ConcurrentHashMap.newKeySet();
    private volatile boolean dropping;

    /**
     * A guard giving the archive {@code limit} per call.
     *
     * @param onFailure told why the archive was given up (may be called more than once, from any thread)
     */
    public GuestFirstGuard(Duration limit, Consumer<BackupException> onFailure) {
        this.limit = limit;
        this.onFailure = onFailure;
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "vmbackup-cbw-timer");
            t.setDaemon(true);
            return t;
        });
        // one timeout per request, nearly all cancelled: do not keep them queued until they would have fired
        timer.setRemoveOnCancelPolicy(true);
    }

    /** The limit of one archive call. */
    public Duration limit() {
        return limit;
    }

    /** Whether the archive was given up: data is dropped and requests are acknowledged at once. */
    public boolean dropping() {
        return dropping;
    }

    /** Reports an archive failure to the session (its first cause wins there). */
    public void report(BackupException e) {
        onFailure.accept(e);
    }

    /**
     * The answer to QEMU for one archive call: completes normally once {@code stored} completes, whether it
     * failed or not (a failure is expected to be reported already), or after the limit, when the archive is given
     * up with the reason {@code stalled} supplies. Never completes exceptionally.
     */
    public CompletableFuture<Void> bound(CompletableFuture<Void> stored, Supplier<String> stalled) {
        CompletableFuture<Void> ack = new CompletableFuture<>();
        pending.add(ack);
        ack.whenComplete((v, e) -> pending.remove(ack));
        if (dropping) {
            ack.complete(null); // given up while we registered: nobody else will answer this one
            return ack;
        }
        ScheduledFuture<?> timeout;
        try {
            timeout = timer.schedule(() -> {
                if (!stored.isDone()) {
                    // an I/O cause: the session keeps this reason over the errors the stalled call may end with
                    report(new BackupException(stalled.get(), new InterruptedIOException(
                            "no answer from the archive within " + limit.toMillis() + " ms")));
                    giveUp();
                }
            }, limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            giveUp(); // closed: the session is over, nothing may wait on the archive any more
            return ack;
        }
        stored.whenComplete((v, e) -> {
            timeout.cancel(false);
            if (e != null) {
                giveUp();
            }
            ack.complete(null);
        });
        return ack;
    }

    /** Gives the archive up (idempotent): acknowledges every pending request now, drops all data from now on. */
    public void giveUp() {
        dropping = true;
        for (CompletableFuture<Void> ack : pending) {
            ack.complete(null);
        }
    }

    /** Stops the timer; pending requests keep their answers. */
    @Override
    public void close() {
        timer.shutdownNow();
    }
}
