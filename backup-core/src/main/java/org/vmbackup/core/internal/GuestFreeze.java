package org.vmbackup.core.internal;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.QmpConnectionClosedException;
import org.vmbackup.qmp.QmpErrorException;
import org.vmbackup.qmp.agent.GuestAgentClient;

/**
 * One freeze of the guest's file systems through its agent, and the guarantee that it ends: {@link #thaw()} is
 * idempotent and safe from any thread (the session's normal path, its cleanup stack, the watchdog), waits for the
 * agent without giving in to interrupts (an interrupted session must still thaw its guest), and a watchdog thaws
 * a freeze that outlives {@code bound} even if the session is stuck.
 *
 * <p>A guest frozen for too long stalls every writer in it; so a freeze that cannot be thawed is logged as an
 * error and kept in {@link #thawFailure()} for the result or the exception.
 */
public final class GuestFreeze implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GuestFreeze.class);
    /** Beyond a call's own timeout, in case the agent client does not enforce it. */
    private static final long GRACE_MS = 1000;

    /** The agent calls a freeze needs; {@link #of(GuestAgentClient)} for the real one. */
    public interface Agent {
        /** {@code guest-fsfreeze-freeze} within {@code timeout}: the number of file systems frozen. */
        CompletableFuture<Integer> freeze(Duration timeout);

        /** {@code guest-fsfreeze-thaw} within {@code timeout}: the number of file systems thawed. */
        CompletableFuture<Integer> thaw(Duration timeout);
    }

    private enum State { NONE, FREEZING, FROZEN, THAWING, THAWED, GONE, THAW_FAILED }

    private final Agent agent;
    private final Duration bound;
    private final Duration freezeCallTimeout;
    private final Duration thawCallTimeout;
    private final BooleanSupplier qemuAlive;
    private final ScheduledExecutorService watchdog;
    private final CompletableFuture<Void> thawDone = new CompletableFuture<>();
    private State state = State.NONE;
    private boolean watchdogFired;
    private ScheduledFuture<?> alarm;
    private int frozen;
    private long frozenAt;
    private long thawedAt;
    private String thawFailure = "";
    /** Whether a failed thaw was tried once more (by a session thaw after the watchdog's, say). */
    private boolean retried;

    /**
     * A freeze through {@code agent} that the watchdog ends after {@code bound}.
     *
     * @param callTimeout the limit of the thaw call; the freeze call (which flushes the guest's dirty data first)
     *     may take the longer of this and {@code bound}: even once the watchdog fired, its reply tells whether
     *     the guest froze
     * @param qemuAlive whether QEMU still runs (its QMP connection is open): a closed agent channel means the
     *     guest is gone only if QEMU is
     */
    public GuestFreeze(Agent agent, Duration bound, Duration callTimeout, BooleanSupplier qemuAlive) {
        this.agent = agent;
        this.qemuAlive = qemuAlive;
        this.bound = bound;
        this.freezeCallTimeout = bound.compareTo(callTimeout) > 0 ? bound : callTimeout;
        this.thawCallTimeout = callTimeout;
        ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "vmbackup-freeze-watchdog");
            t.setDaemon(true);
            return t;
        });
        ex.setRemoveOnCancelPolicy(true);
        this.watchdog = ex;
    }

    /** The calls of a real agent client. */
    public static Agent of(GuestAgentClient client) {
        return new Agent() {
            @Override
            public CompletableFuture<Integer> freeze(Duration timeout) {
                return client.freeze(timeout);
            }

            @Override
            public CompletableFuture<Integer> thaw(Duration timeout) {
                return client.thaw(timeout);
            }
        };
    }

    /**
     * Freezes the guest's file systems and arms the watchdog. Register {@link #thaw()} as undo <em>before</em>
     * calling this: a freeze that failed on our side (timeout, interrupt) may still have happened in the guest.
     *
     * @return the number of file systems frozen
     * @throws BackupException if the agent refused (nothing is frozen then: the agent undoes a partial freeze
     *     itself), did not answer within the bound, or the wait was interrupted
     * @throws IllegalStateException if called twice
     */
    public int freeze() {
        synchronized (this) {
            if (state != State.NONE) {
                throw new IllegalStateException("a GuestFreeze freezes once");
            }
            state = State.FREEZING;
        }
        CompletableFuture<Integer> reply = agent.freeze(freezeCallTimeout);
        synchronized (this) {
            // Armed once the request is queued, not before: the agent client runs calls in order, so a watchdog
            // thaw is then always sent after the freeze. Armed earlier, a short bound could send the thaw first and
            // the late freeze would leave the guest frozen (seen with a 1 ms bound).
            alarm = watchdog.schedule(this::watchdogThaw, bound.toNanos(), TimeUnit.NANOSECONDS);
        }
        int n;
        try {
            n = reply.get(freezeCallTimeout.toMillis() + GRACE_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            boolean refused = c instanceof QmpErrorException;
            synchronized (this) {
                if (refused && state == State.FREEZING) {
                    state = State.NONE; // refused: qemu-ga thaws whatever it froze before failing
                    alarm.cancel(false);
                    thawDone.complete(null);
                }
                if (watchdogFired) {
                    throw outlived();
                }
            }
            throw new BackupException("the guest agent could not freeze the file systems: " + c.getMessage(), c);
        } catch (TimeoutException e) {
            throw new BackupException("the guest agent did not freeze the file systems within "
                    + freezeCallTimeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted while the guest agent froze the file systems", e);
        }
        boolean thawRanAlongside;
        synchronized (this) {
            frozenAt = System.nanoTime();
            frozen = n;
            thawRanAlongside = state != State.FREEZING;
            if (state == State.FREEZING) {
                state = State.FROZEN;
            }
        }
        if (thawRanAlongside) {
            // A thaw started while the freeze was in flight: make sure one reaches the agent after the freeze.
            awaitQuietly(thawDone, freezeCallTimeout.toMillis() + thawCallTimeout.toMillis() + 2 * GRACE_MS);
            thawAgain();
        }
        synchronized (this) {
            if (watchdogFired) {
                throw outlived();
            }
        }
        log.debug("guest file systems frozen: {}", n);
        return n;
    }

    private BackupException outlived() {
        return new BackupException("the file-system freeze outlived its bound of " + bound
                + ": the watchdog thawed the guest");
    }

    /**
     * Ends the freeze, if any, and waits (uninterruptibly, within the bound) for the agent's reply; any later
     * call waits for the first one's outcome, except that a failed thaw is tried once more. Never throws: the
     * outcome is in {@link #thawed()} and {@link #thawFailure()}.
     */
    public void thaw() {
        thaw(false);
    }

    private void watchdogThaw() {
        synchronized (this) {
            if (state != State.FREEZING && state != State.FROZEN) {
                return;
            }
            watchdogFired = true;
        }
        log.warn("the guest's file systems have been frozen for {}: the watchdog thaws them", bound);
        thaw(true);
    }

    private void thaw(boolean byWatchdog) {
        boolean mine = false;
        boolean freezeRunning;
        synchronized (this) {
            freezeRunning = state == State.FREEZING;
            // A failed thaw is tried once more by the session's thaw: the watchdog's may have found the guest
            // paused (its agent cannot answer then), and the session thaws only once the guest runs again.
            boolean retry = state == State.THAW_FAILED && !byWatchdog && !retried;
            if (retry) {
                retried = true;
                log.info("trying the failed thaw of the guest's file systems again");
            }
            if (state == State.FREEZING || state == State.FROZEN || retry) {
                state = State.THAWING;
                mine = true;
                if (!byWatchdog && alarm != null) {
                    alarm.cancel(false);
                }
            } else if (state == State.NONE) {
                return;
            }
        }
        if (!mine) {
            awaitQuietly(thawDone, freezeCallTimeout.toMillis() + thawCallTimeout.toMillis() + 2 * GRACE_MS);
            return;
        }
        State outcome;
        String failure = "";
        try {
            int n = awaitUninterruptibly(agent.thaw(thawCallTimeout),
                    // a thaw sent while the freeze call runs waits for it in the agent
                    (freezeRunning ? freezeCallTimeout.toMillis() : 0) + thawCallTimeout.toMillis()
                            + GRACE_MS);
            outcome = State.THAWED;
            log.debug("guest file systems thawed: {}", n);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof QmpConnectionClosedException && !qemuAlive.getAsBoolean()) {
                // The channel closes when QEMU exits: no guest left to thaw.
                outcome = State.GONE;
                log.info("QEMU exited before the thaw: no guest left to thaw ({})", c.getMessage());
            } else {
                outcome = State.THAW_FAILED;
                failure = c.getMessage() == null ? c.toString() : c.getMessage();
            }
        } catch (TimeoutException e) {
            outcome = State.THAW_FAILED;
            failure = "no reply to guest-fsfreeze-thaw within " + thawCallTimeout;
        }
        synchronized (this) {
            thawedAt = System.nanoTime();
            state = outcome;
            thawFailure = failure;
        }
        if (outcome == State.THAW_FAILED) {
            log.error("THE GUEST'S FILE SYSTEMS MAY STILL BE FROZEN (its writes stall): the thaw failed: {}; "
                    + "thaw them with the agent's guest-fsfreeze-thaw", failure);
        }
        thawDone.complete(null);
    }

    /** A second thaw after a freeze that completed while a first thaw was on its way; the agent answers 0 if
     * nothing is frozen. A failure is reported like any thaw failure. */
    private void thawAgain() {
        try {
            int n = awaitUninterruptibly(agent.thaw(thawCallTimeout), thawCallTimeout.toMillis() + GRACE_MS);
            log.debug("second thaw after a late freeze: {} file systems", n);
        } catch (ExecutionException | TimeoutException e) {
            String failure = e instanceof ExecutionException x && x.getCause() != null
                    ? String.valueOf(x.getCause().getMessage()) : "no reply to guest-fsfreeze-thaw within "
                    + thawCallTimeout;
            synchronized (this) {
                state = State.THAW_FAILED;
                thawFailure = failure;
            }
            log.error("THE GUEST'S FILE SYSTEMS MAY STILL BE FROZEN (its writes stall): the thaw failed: {}; "
                    + "thaw them with the agent's guest-fsfreeze-thaw", failure);
        }
    }

    private static <T> T awaitUninterruptibly(CompletableFuture<T> f, long millis)
            throws ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void awaitQuietly(CompletableFuture<Void> f, long millis) {
        try {
            awaitUninterruptibly(f, millis);
        } catch (ExecutionException | TimeoutException e) {
            log.debug("waiting for the thaw: {}", e.toString());
        }
    }

    /** Whether the agent confirmed the thaw. */
    public synchronized boolean thawed() {
        return state == State.THAWED;
    }

    /** Whether the watchdog thawed (or started thawing) the guest: the freeze did not stay under its bound. */
    public synchronized boolean watchdogFired() {
        return watchdogFired;
    }

    /** The number of file systems frozen. */
    public synchronized int frozenFileSystems() {
        return frozen;
    }

    /** From the freeze reply to the thaw reply; zero unless both came. */
    public synchronized Duration window() {
        return frozenAt != 0 && thawedAt != 0 && state == State.THAWED
                ? Duration.ofNanos(Math.max(0, thawedAt - frozenAt)) : Duration.ZERO;
    }

    /** Empty, or why the thaw failed (the guest may still be frozen). */
    public synchronized String thawFailure() {
        return thawFailure;
    }

    /** Stops the watchdog's thread (after {@link #thaw()}; a freeze not thawed yet is thawed first). */
    @Override
    public void close() {
        thaw();
        watchdog.shutdownNow();
    }
}
