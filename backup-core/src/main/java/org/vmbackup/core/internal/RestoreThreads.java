package org.vmbackup.core.internal;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/** The default executor of the restore sessions: one daemon thread per task, since every task blocks for long. */
public final class RestoreThreads {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private RestoreThreads() {
    }

    /** An executor starting a new daemon thread named {@code vmbackup-<what>-N} for each task. */
    public static Executor perTask(String what) {
        return task -> {
            Thread t = new Thread(task, "vmbackup-" + what + "-" + COUNTER.incrementAndGet());
            t.setDaemon(true);
            t.start();
        };
    }
}
