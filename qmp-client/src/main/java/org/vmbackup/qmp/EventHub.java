package org.vmbackup.qmp;

import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.vmbackup.qmp.internal.SerialExecutor;

/**
 * Fans events out: into every subscription's queue at once (on the network thread, never blocking), and to
 * listeners one at a time in arrival order on the callback executor. Thread-safe.
 *
 * <p>Listener calls queue in memory; when a slow listener lets {@code subscriptionCapacity} of them pile up,
 * the hub asks the client to stop reading from QEMU (QEMU keeps the rest) and to read again once half are done,
 * so a flood of events cannot fill the heap and no event is dropped.
 */
final class EventHub {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(EventHub.class);
    private final CopyOnWriteArrayList<Consumer<? super QmpEvent>> listeners = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<QmpEventSubscription> subscriptions = new CopyOnWriteArrayList<>();
    private final Executor callbacks;
    private final SerialExecutor listenerExecutor;
    private final int subscriptionCapacity;
    private final Consumer<Boolean> reading;
    private final AtomicBoolean paused = new AtomicBoolean();
    private volatile QmpConnectionClosedException closed;

    EventHub(Executor callbacks, int subscriptionCapacity, Consumer<Boolean> reading) {
        this.callbacks = callbacks;
        this.listenerExecutor = new SerialExecutor(callbacks);
        this.subscriptionCapacity = subscriptionCapacity;
        this.reading = reading;
    }

    AutoCloseable addListener(Consumer<? super QmpEvent> listener) {
        Objects.requireNonNull(listener, "listener");
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    QmpEventSubscription subscribe(Predicate<? super QmpEvent> filter, ScheduledExecutorService timer) {
        Objects.requireNonNull(filter, "filter");
        QmpEventSubscription[] self = new QmpEventSubscription[1];
        self[0] = new QmpEventSubscription(filter, subscriptionCapacity, callbacks, timer,
                () -> subscriptions.remove(self[0]));
        subscriptions.add(self[0]);
        QmpConnectionClosedException c = closed;
        if (c != null) {
            self[0].disconnected(c);
        }
        return self[0];
    }

    /** Called on the network thread for each event. */
    void dispatch(QmpEvent event) {
        for (QmpEventSubscription s : subscriptions) {
            try {
                s.offer(event);
            } catch (RuntimeException e) {
                // One subscription's trouble must not stop delivery to the others or end the connection.
                log.warn("event subscription failed on {}", event.name(), e);
            }
        }
        for (Consumer<? super QmpEvent> l : listeners) {
            listenerExecutor.execute(() -> {
                try {
                    l.accept(event);
                } finally {
                    resumeIfDrained();
                }
            });
        }
        if (listenerExecutor.backlog() >= subscriptionCapacity && !paused.get()) {
            // The state change and the switch of reads happen under one lock: a resume from a listener thread
            // between this thread's state change and its switch would otherwise be undone by that switch, leaving
            // reads off with nothing left to turn them on (seen: a flood test hung in CI).
            synchronized (paused) {
                if (listenerExecutor.backlog() >= subscriptionCapacity && paused.compareAndSet(false, true)) {
                    log.debug("{} listener calls queued; pausing reads from QEMU until half are done",
                            listenerExecutor.backlog());
                    reading.accept(false);
                }
            }
            // The listeners may have drained before 'paused' was set and then would never resume reading.
            resumeIfDrained();
        }
    }

    private void resumeIfDrained() {
        if (paused.get() && listenerExecutor.backlog() <= subscriptionCapacity / 2) {
            synchronized (paused) {
                if (listenerExecutor.backlog() <= subscriptionCapacity / 2 && paused.compareAndSet(true, false)) {
                    reading.accept(true);
                }
            }
        }
    }

    int listenerBacklog() {
        return listenerExecutor.backlog();
    }

    /** The connection is gone: waiting subscription calls fail; queued events stay readable. */
    void disconnected(QmpConnectionClosedException cause) {
        if (closed == null) {
            closed = cause;
        }
        for (QmpEventSubscription s : subscriptions) {
            s.disconnected(cause);
        }
    }
}
