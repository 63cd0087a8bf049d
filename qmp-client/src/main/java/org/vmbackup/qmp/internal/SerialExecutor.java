package org.vmbackup.qmp.internal;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in submission order, on a backing executor: listeners see events in the order
 * QEMU sent them even on a thread pool. A task that throws is logged and does not stop later tasks.
 */
public final class SerialExecutor implements Executor {
    private static final Logger log = LoggerFactory.getLogger(SerialExecutor.class);

    private final Executor backing;
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private boolean running;

    /**
     * A serial view of an executor.
     *
     * @param backing where tasks actually run
     */
    public SerialExecutor(Executor backing) {
        this.backing = backing;
    }

    @Override
    public void execute(Runnable task) {
        synchronized (tasks) {
            tasks.add(task);
            if (running) {
                return;
            }
            running = true;
        }
        backing.execute(this::runAll);
    }

    /** How many tasks wait to run. */
    public int backlog() {
        synchronized (tasks) {
            return tasks.size();
        }
    }

    private void runAll() {
        while (true) {
            Runnable next;
            synchronized (tasks) {
                next = tasks.poll();
                if (next == null) {
                    running = false;
                    return;
                }
            }
            try {
                next.run();
            } catch (RuntimeException | LinkageError | AssertionError e) {
                // An Error too (a test assertion, a missing class): escaping, it would end this loop with
                // running still set, and no later task would ever run.
                log.warn("QMP event listener failed", e);
            } catch (Throwable t) {
                // A VirtualMachineError is not ours to swallow, but the tasks queued behind it still run.
                resume();
                throw t;
            }
        }
    }

    private void resume() {
        synchronized (tasks) {
            if (tasks.isEmpty()) {
                running = false;
                return;
            }
        }
        backing.execute(this::runAll);
    }
}
