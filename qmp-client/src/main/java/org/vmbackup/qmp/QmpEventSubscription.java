package org.vmbackup.qmp;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A queue of the events matching a filter, registered <em>before</em> the command that causes them, so events
 * that QEMU sends before the command's reply are not missed. Create with {@link QmpClient#subscribe(Predicate)}
 * and close it when done (try-with-resources).
 *
 * <p>Events are queued in arrival order. {@link #next()} takes the oldest; {@link #await(Predicate, Duration)}
 * takes (and discards) events until one matches. Thread-safe.
 *
 * <p><b>Bound:</b> at most {@link QmpClientOptions#subscriptionCapacity()} unread events are kept. When one
 * more arrives, the subscription does not silently drop anything: it <em>fails</em>. Queued events can still
 * be drained, but every later {@code next()}/{@code await()} completes exceptionally with a
 * {@link QmpException} saying how many events were unread. Listeners and other subscriptions are not
 * affected. When the connection closes, waiting calls fail with {@link QmpConnectionClosedException}; events
 * already queued stay readable.
 */
public final class QmpEventSubscription implements AutoCloseable {
    private final Predicate<? super QmpEvent> filter;
    private final int capacity;
    private final Executor completer;
    private final ScheduledExecutorService timer;
    private final Runnable onClose;
    private final ArrayDeque<QmpEvent> queue = new ArrayDeque<>();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private QmpException failure;
    private boolean closed;

    QmpEventSubscription(Predicate<? super QmpEvent> filter, int capacity, Executor completer,
            ScheduledExecutorService timer, Runnable onClose) {
        this.filter = filter;
        this.capacity = capacity;
        this.completer = completer;
        this.timer = timer;
        this.onClose = onClose;
    }

    /** The next matching event (the oldest unread one, or the next to arrive). Never times out by itself. */
    public CompletableFuture<QmpEvent> next() {
        return await(e -> true, null);
    }

    /**
     * The first event matching {@code predicate}; unread events that do not match are discarded on the way.
     *
     * @param predicate what to wait for
     * @param timeout how long, or {@code null} for no limit; on expiry the future fails with
     *     {@link QmpTimeoutException}
     * @return the matching event
     */
    public CompletableFuture<QmpEvent> await(Predicate<? super QmpEvent> predicate, Duration timeout) {
        CompletableFuture<QmpEvent> result = new CompletableFuture<>();
        synchronized (this) {
            while (!queue.isEmpty()) {
                QmpEvent e = queue.poll();
                if (predicate.test(e)) {
                    result.complete(e);
                    return result;
                }
            }
            if (failure != null) {
                result.completeExceptionally(failure);
                return result;
            }
            if (closed) {
                result.completeExceptionally(new QmpException("event subscription is closed"));
                return result;
            }
            Waiter w = new Waiter(predicate, result);
            waiters.add(w);
            if (timeout != null) {
                // Saturated: toNanos() threw for a "forever" timeout after the waiter was queued, leaving an
                // orphan that discarded the subscription's events.
                w.timer = timer.schedule(() -> expire(w, timeout), QmpClient.saturatedNanos(timeout),
                        TimeUnit.NANOSECONDS);
            }
        }
        return result;
    }

    /**
     * The first event of a type matching {@code predicate}.
     *
     * @param <E> the event type
     * @param type e.g. {@code QmpEvent.JobStatusChange.class}
     * @param predicate what to wait for among events of that type
     * @param timeout how long, or {@code null} for no limit
     * @return the matching event
     */
    public <E extends QmpEvent> CompletableFuture<E> await(Class<E> type, Predicate<? super E> predicate,
            Duration timeout) {
        return await(e -> type.isInstance(e) && predicate.test(type.cast(e)), timeout).thenApply(type::cast);
    }

    /** The oldest unread event, if any, without waiting. */
    public synchronized Optional<QmpEvent> poll() {
        return Optional.ofNullable(queue.poll());
    }

    /** Removes and returns every unread event. */
    public synchronized List<QmpEvent> drain() {
        List<QmpEvent> all = new ArrayList<>(queue);
        queue.clear();
        return all;
    }

    /** Stops receiving events; waiting calls fail. Idempotent. */
    @Override
    public void close() {
        List<Waiter> failed;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            failed = takeWaiters();
        }
        onClose.run();
        failed.forEach(w -> complete(w, null, new QmpException("event subscription closed while waiting")));
    }

    /** Called on the network thread for every event; never blocks. */
    void offer(QmpEvent event) {
        if (!test(filter, event)) {
            return;
        }
        Waiter matched = null;
        Waiter broken = null;
        Throwable predicateError = null;
        List<Waiter> failed = List.of();
        synchronized (this) {
            if (closed || failure != null) {
                return;
            }
            Iterator<Waiter> it = waiters.iterator();
            if (it.hasNext()) {
                Waiter head = it.next();
                it.remove();
                try {
                    if (head.predicate.test(event)) {
                        matched = head;
                    } else {
                        waiters.addFirst(head);
                    }
                } catch (RuntimeException | LinkageError | AssertionError e) {
                    // A throwing predicate (an assertion in a test, too) fails its own wait, never the connection:
                    // escaping, it closed the connection and left this waiter, already unqueued, pending for ever.
                    broken = head;
                    predicateError = e;
                }
            } else if (queue.size() >= capacity) {
                failure = new QmpException("event subscription overflowed: " + queue.size()
                        + " unread events (capacity " + capacity + "); read events faster or raise "
                        + "QmpClientOptions.subscriptionCapacity");
                failed = takeWaiters();
            } else {
                queue.add(event);
            }
        }
        if (matched != null) {
            complete(matched, event, null);
        }
        if (broken != null) {
            complete(broken, null, predicateError);
        }
        QmpException f = failure;
        failed.forEach(w -> complete(w, null, f));
    }

    private static boolean test(Predicate<? super QmpEvent> p, QmpEvent e) {
        try {
            return p.test(e);
        } catch (RuntimeException | LinkageError | AssertionError ex) {
            // An Error escaping here reached the network thread's handler and closed the connection.
            LoggerHolder.LOG.warn("event filter threw on {}; event skipped for this subscription", e.name(), ex);
            return false;
        }
    }

    /** Called when the connection is gone. */
    void disconnected(QmpConnectionClosedException cause) {
        List<Waiter> failed;
        synchronized (this) {
            if (failure == null) {
                failure = cause;
            }
            failed = takeWaiters();
        }
        failed.forEach(w -> complete(w, null, cause));
    }

    private void expire(Waiter w, Duration timeout) {
        synchronized (this) {
            if (!waiters.remove(w)) {
                return;
            }
        }
        complete(w, null, new QmpTimeoutException("no matching event within " + timeout, timeout));
    }

    private List<Waiter> takeWaiters() {
        List<Waiter> all = new ArrayList<>(waiters);
        waiters.clear();
        return all;
    }

    private void complete(Waiter w, QmpEvent event, Throwable error) {
        if (w.timer != null) {
            w.timer.cancel(false);
        }
        // Completing on the callback executor keeps user continuations off the network thread.
        completer.execute(() -> {
            if (error != null) {
                w.future.completeExceptionally(error);
            } else {
                w.future.complete(event);
            }
        });
    }

    private static final class LoggerHolder {
        static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(QmpEventSubscription.class);
    }

    private static final class Waiter {
        final Predicate<? super QmpEvent> predicate;
        final CompletableFuture<QmpEvent> future;
        ScheduledFuture<?> timer;

        Waiter(Predicate<? super QmpEvent> predicate, CompletableFuture<QmpEvent> future) {
            this.predicate = predicate;
            this.future = future;
        }
    }
}
