package org.vmbackup.core.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;

/**
 * The cancel state of one session: open until either {@link #cancel()} or {@link #finish()} wins, exactly once, so a
 * session either ends cancelled (everything undone) or delivers its result, never both. The run checks it between
 * steps and on every archive run ({@link #check()}); hooks registered with {@link #onCancel} unblock what a check
 * cannot reach (a socket QEMU does not read, a child process).
 */
public final class CancelSignal {
    private static final Logger log = LoggerFactory.getLogger(CancelSignal.class);

    private enum State { OPEN, CANCELLED, DONE }

    private final String what;
    private final AtomicReference<State> state = new AtomicReference<>(State.OPEN);
    private final List<Runnable> hooks = new CopyOnWriteArrayList<>();

    /** A signal for a session described by {@code what} (e.g. "restore"), used in the cancellation message. */
    public CancelSignal(String what) {
        this.what = what;
    }

    /**
     * Cancels, unless the session already finished; runs the hooks.
     *
     * @return whether the session now ends cancelled (false: it had already delivered its result)
     */
    public boolean cancel() {
        if (state.compareAndSet(State.OPEN, State.CANCELLED)) {
            for (Runnable h : hooks) {
                runHook(h);
            }
            return true;
        }
        return state.get() == State.CANCELLED;
    }

    /** Whether {@link #cancel()} won. */
    public boolean cancelled() {
        return state.get() == State.CANCELLED;
    }

    /** Throws {@link #exception()} if cancelled: called between steps and on every unit of work. */
    public void check() {
        if (cancelled()) {
            throw exception();
        }
    }

    /**
     * Marks the session done: from now on a cancel is too late.
     *
     * @return false if a cancel came first (the caller undoes its work and fails with {@link #exception()})
     */
    public boolean finish() {
        return state.compareAndSet(State.OPEN, State.DONE) || state.get() == State.DONE;
    }

    /** The outcome of a cancelled session. */
    public CancellationException exception() {
        return new CancellationException(what + " cancelled");
    }

    /**
     * Runs {@code hook} on cancel (at once if already cancelled) until the returned handle is closed: hooks unblock a
     * run that waits where {@link #check()} cannot see (they must be quick and must not throw).
     */
    public Registration onCancel(Runnable hook) {
        hooks.add(hook);
        if (cancelled()) {
            runHook(hook);
        }
        return () -> hooks.remove(hook);
    }

    /** The body of a session run. */
    @FunctionalInterface
    public interface Body<T> {
        /** Runs the session to its result. */
        T run() throws IOException, InterruptedException;
    }

    /**
     * Runs {@code body} on {@code executor} into the session's future, which completes with its result, or with the
     * failure as it is (an {@link IOException} as an {@link UncheckedIOException}), or, once cancelled, with a
     * {@link CancellationException} itself (so {@code isCancelled()} holds and {@code join()} throws it): what the
     * cancel broke on its way (a closed stream or socket) is kept as a suppressed exception. Cancelling the
     * returned future cancels the session.
     */
    public <T> CompletableFuture<T> start(Executor executor, Body<T> body) {
        CompletableFuture<T> result = new CompletableFuture<>();
        result.whenComplete((r, e) -> {
            if (e instanceof CancellationException) {
                cancel();
            }
        });
        if (cancelled()) {
            result.completeExceptionally(exception());
            return result;
        }
        try {
            executor.execute(() -> {
                try {
                    result.complete(body.run());
                } catch (IOException e) {
                    result.completeExceptionally(outcome(new UncheckedIOException(e)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    result.completeExceptionally(outcome(new BackupException(what + " interrupted", e)));
                } catch (RuntimeException | Error e) {
                    result.completeExceptionally(outcome(e));
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new BackupException("the executor refused the " + what + ": " + e, e));
        }
        return result;
    }

    private Throwable outcome(Throwable e) {
        if (cancelled() && !(e instanceof CancellationException)) {
            CancellationException ce = exception();
            ce.addSuppressed(e);
            return ce;
        }
        return e;
    }

    /** A registered hook; closing it unregisters. */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    private static void runHook(Runnable h) {
        try {
            h.run();
        } catch (RuntimeException e) {
            log.warn("cancel hook failed: {}", e.toString());
        }
    }
}
