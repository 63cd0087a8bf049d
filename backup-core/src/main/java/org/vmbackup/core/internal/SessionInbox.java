package org.vmbackup.core.internal;

import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What wakes the session thread: QMP events, a cancel request, a sink failure, the connection closing.
 * Bounded: a flood of events beyond its capacity marks it overflowed instead of growing.
 */
public final class SessionInbox {
    /** A wake-up without an event (cancel, failure, closed connection): the session re-checks its flags. */
    public static final Object WAKE = new Object();

    private final BlockingQueue<Object> queue;
    private final AtomicBoolean overflowed = new AtomicBoolean();

    /** An inbox holding at most {@code capacity} unread items. */
    public SessionInbox(int capacity) {
        this.queue = new ArrayBlockingQueue<>(capacity);
    }

    /** Adds an item; never blocks. */
    public void offer(Object item) {
        if (!queue.offer(item)) {
            overflowed.set(true);
        }
    }

    /** Wakes the session thread. */
    public void wake() {
        queue.offer(WAKE);
    }

    /** The next item, or null after {@code timeout}. */
    public Object poll(Duration timeout) throws InterruptedException {
        return queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Whether items were lost because the inbox was full. */
    public boolean overflowed() {
        return overflowed.get();
    }
}
