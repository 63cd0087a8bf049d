package org.vmbackup.core.internal;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The undo steps of a session, pushed by each step right after it made its mess and run last-in first-out.
 * A failing step is logged and the rest still run, so one stuck resource never leaks the others: nothing a step
 * throws (an {@link Error} included) gets past the stack. Each step bounds its own waits (every QMP call of an
 * undo has a timeout); one that takes longer than {@link #SLOW} is logged, to find the step that held a cancel.
 */
public final class Cleanup {
    private static final Logger log = LoggerFactory.getLogger(Cleanup.class);
    /** An undo step slower than this is logged at info. */
    static final Duration SLOW = Duration.ofSeconds(5);

    /** One undo step. */
    @FunctionalInterface
    public interface Step {
        /** Undoes something; may throw, the failure is logged. */
        void run() throws Exception;
    }

    private record Named(String what, Step step) {
    }

    private final Deque<Named> steps = new ArrayDeque<>();

    /** Registers an undo step, run before every step registered earlier. */
    public synchronized void push(String what, Step step) {
        steps.push(new Named(what, step));
    }

    /** Runs every registered step, newest first; returns how many failed. */
    public int runAll() {
        int failed = 0;
        while (true) {
            Named n;
            synchronized (this) {
                n = steps.poll();
            }
            if (n == null) {
                return failed;
            }
            long t0 = System.nanoTime();
            try {
                log.debug("cleanup: {}", n.what());
                n.step().run();
            } catch (Throwable e) {
                failed++;
                log.warn("cleanup step '{}' failed: {}", n.what(), e.toString());
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (ms > SLOW.toMillis()) {
                log.info("cleanup step '{}' took {} ms", n.what(), ms);
            }
        }
    }
}
