package org.vmbackup.core.internal;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.qmp.command.MachineCommands.Cont;
import org.vmbackup.qmp.command.MachineCommands.Stop;
import org.vmbackup.qmp.command.QueryCommands.MigrationInfo;
import org.vmbackup.qmp.command.QueryCommands.QueryMigrate;
import org.vmbackup.qmp.command.QueryCommands.QueryStatus;
import org.vmbackup.qmp.command.QueryCommands.StatusInfo;

/**
 * The step that pauses the guest for the instant of a backup with VM state and lets it run again, and its undo:
 * the guest is left running if it ran before, paused if it was paused. What QEMU does itself differs by version
 * (see {@link #afterSnapshotSetup}).
 */
final class GuestRunState {
    private static final Logger log = LoggerFactory.getLogger(GuestRunState.class);
    private static final Duration CLEANUP_TIMEOUT = Duration.ofSeconds(10);

    private final QemuCalls q;
    private final RunEvents events;
    private final boolean wasRunning;
    private final boolean keepsRunState;

    /**
     * The run state of the guest behind {@code q}, as it is now.
     *
     * @param events where the RESUME after the pause is seen
     */
    GuestRunState(QemuCalls q, RunEvents events) {
        this.q = q;
        this.events = events;
        this.wasRunning = q.call(new QueryStatus()).running();
        // QEMU >= 9.0 puts back the run state the snapshot found; 7.2 always resumes the guest after its set-up
        this.keepsRunState = q.client().greeting().version().atLeast(9, 0);
    }

    /** Whether the guest ran before the backup. */
    boolean wasRunning() {
        return wasRunning;
    }

    /** Pushes the undo: the guest's run state as it was before. */
    void pushUndo(Cleanup cleanup) {
        cleanup.push("restore the guest's run state", this::restore);
    }

    /** Sends {@code stop} without waiting (the instant's commands go out together), or null if already paused. */
    CompletableFuture<Void> sendStop() {
        return wasRunning ? q.send(new Stop()) : null;
    }

    /**
     * Lets the guest run again once the snapshot has its instant, as it ran before the backup.
     *
     * @param resumeTimeout how long to wait for QEMU's own RESUME
     * @param commandTimeout how long to wait for the snapshot to arm RAM write tracking
     * @param abortCheck throws to stop waiting
     */
    void afterSnapshotSetup(Duration resumeTimeout, Duration commandTimeout, Runnable abortCheck) {
        if (wasRunning && keepsRunState) {
            resumeWhenTracking(resumeTimeout, commandTimeout, abortCheck);
        } else if (wasRunning) {
            awaitResume(resumeTimeout, abortCheck);
        } else if (!keepsRunState && events.await(events::resumeSeen, resumeTimeout, abortCheck)
                && q.call(new QueryStatus()).running()) {
            q.call(new Stop()); // QEMU 7.2 resumes a paused guest after the snapshot's setup: pause it again
        }
    }

    /**
     * QEMU >= 9.0 restores the run state the snapshot found (paused: we stopped the guest), so we resume it, but
     * only once RAM is write-protected: the snapshot thread sends RAM pages only after it has captured the device
     * state, armed write tracking and scheduled its own run-state restore (a bottom half that would run before any
     * later command of ours). A {@code cont} before that would let the guest run between the disks' instant and
     * the RAM's.
     */
    private void resumeWhenTracking(Duration resumeTimeout, Duration commandTimeout, Runnable abortCheck) {
        long deadline = System.nanoTime() + commandTimeout.toNanos();
        while (true) {
            MigrationInfo info = q.call(new QueryMigrate());
            String status = info.statusOrNone();
            if (info.ramPagesSent() || !status.equals("setup") && !status.equals("active")) {
                break; // tracking armed (or the snapshot ended: the guest must run either way)
            }
            if (System.nanoTime() > deadline) {
                break;
            }
            events.pump(Duration.ofMillis(5));
            abortCheck.run();
        }
        if (!q.call(new QueryStatus()).running()) {
            q.call(new Cont());
        }
        events.await(events::resumedAfterStop, resumeTimeout, abortCheck);
    }

    private void awaitResume(Duration resumeTimeout, Runnable abortCheck) {
        if (!events.await(events::resumedAfterStop, resumeTimeout, abortCheck)) {
            if (!q.call(new QueryStatus()).running()) {
                log.debug("no RESUME within {}: sending cont", resumeTimeout);
                q.call(new Cont());
            }
            events.await(events::resumedAfterStop, resumeTimeout, abortCheck);
        }
    }

    private void restore() {
        StatusInfo st = q.tryQuery(new QueryStatus(), CLEANUP_TIMEOUT).orElse(null);
        if (st == null) {
            return;
        }
        if (wasRunning && !st.running()) {
            log.info("resuming the guest (status {})", st.status());
            q.tryRun(new Cont(), CLEANUP_TIMEOUT);
        } else if (!wasRunning && st.running()) {
            q.tryRun(new Stop(), CLEANUP_TIMEOUT); // QEMU 7.2 resumes after a snapshot even if it was paused
        }
    }
}
