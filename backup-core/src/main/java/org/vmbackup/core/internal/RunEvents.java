package org.vmbackup.core.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpEvent;
import org.vmbackup.qmp.QmpJobStatus;

/**
 * What a backup learns from QEMU's events: the guest's pause and resume, each job's status, the migration's
 * status. Events arrive on the client's thread into a bounded inbox and are applied on the session thread only,
 * so the run reads this state without locks.
 */
final class RunEvents {
    private static final Logger log = LoggerFactory.getLogger(RunEvents.class);

    private final SessionInbox inbox = new SessionInbox(100_000);
    private final Map<String, QmpJobStatus> jobStatus = new HashMap<>();
    private Instant stopAt;
    private Instant resumeAt;
    private boolean resumeSeen;
    private String migrationStatus = "none";

    /** Subscribes to {@code client}'s events; the undo unsubscribes. */
    void listen(QmpClient client, Cleanup cleanup) {
        // No callback on the client's close future: on a shared, long-lived client it would keep every finished
        // session, archive buffers included, reachable. A closed connection is noticed by the run's abort check.
        AutoCloseable l = client.addListener(this::offer);
        cleanup.push("remove QMP event listener", l::close);
    }

    /** Queues an event (from the client's thread) for the session thread. */
    void offer(Object event) {
        inbox.offer(event);
    }

    /** Wakes the session thread out of {@link #pump} (a cancel, an archive failure). */
    void wake() {
        inbox.wake();
    }

    /** Whether QEMU sent more events than the inbox holds (the state here would be incomplete). */
    boolean overflowed() {
        return inbox.overflowed();
    }

    /** Applies every event that arrives within {@code wait} (at least the ones already there). */
    void pump(Duration wait) {
        try {
            Object item = inbox.poll(wait);
            while (item != null) {
                apply(item);
                item = inbox.poll(Duration.ZERO);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted", e);
        }
    }

    /**
     * Pumps events until {@code done} holds or {@code limit} passed, running {@code abortCheck} (which throws to
     * stop the run) after each batch.
     *
     * @return whether {@code done} holds
     */
    boolean await(BooleanSupplier done, Duration limit, Runnable abortCheck) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!done.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            pump(Duration.ofNanos(Math.min(left, 50_000_000L)));
            abortCheck.run();
        }
        return true;
    }

    private void apply(Object item) {
        if (item instanceof QmpEvent e && log.isTraceEnabled()) {
            log.trace("event {}", e.toJson());
        }
        if (item instanceof QmpEvent.Stop s && stopAt == null) {
            stopAt = s.timestamp();
        } else if (item instanceof QmpEvent.Resume r) {
            resumeSeen = true;
            if (stopAt != null && resumeAt == null) {
                resumeAt = r.timestamp();
            }
        } else if (item instanceof QmpEvent.JobStatusChange j) {
            jobStatus.put(j.id(), j.status());
        } else if (item instanceof QmpEvent.Migration m) {
            migrationStatus = m.status();
        }
    }

    /** The job's last reported status, or null before its first event. */
    QmpJobStatus jobStatus(String id) {
        return jobStatus.get(id);
    }

    /** The migration's last reported status ({@code "none"} before any). */
    String migrationStatus() {
        return migrationStatus;
    }

    /** Whether the guest resumed after the backup's pause. */
    boolean resumedAfterStop() {
        return resumeAt != null;
    }

    /** Whether any RESUME was seen (QEMU 7.2 resumes even a guest that was paused before the snapshot). */
    boolean resumeSeen() {
        return resumeSeen;
    }

    /** How long the guest was paused for the instant, by QEMU's event times; zero if it was not. */
    Duration pause() {
        return stopAt != null && resumeAt != null ? Duration.between(stopAt, resumeAt) : Duration.ZERO;
    }
}
