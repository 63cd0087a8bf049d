package org.vmbackup.core.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.QmpJobStatus;
import org.vmbackup.qmp.command.BlockCommands.BitmapSyncMode;
import org.vmbackup.qmp.command.BlockCommands.BlockJobSetSpeed;
import org.vmbackup.qmp.command.BlockCommands.BlockdevBackup;
import org.vmbackup.qmp.command.BlockCommands.SyncMode;
import org.vmbackup.qmp.command.JobCommands.JobCancel;
import org.vmbackup.qmp.command.JobCommands.JobDismiss;
import org.vmbackup.qmp.command.QueryCommands.JobInfo;
import org.vmbackup.qmp.command.QueryCommands.QueryJobs;
import org.vmbackup.qmp.command.TransactionCommands.Action;
import org.vmbackup.qmp.command.TransactionCommands.CompletionMode;
import org.vmbackup.qmp.command.TransactionCommands.Transaction;

/**
 * The step that copies the disks: one {@code blockdev-backup} job per disk, started together in one grouped
 * transaction (one instant for all disks, and one failing job fails them all), and their undo: cancel what did
 * not conclude, wait, dismiss.
 */
final class BackupJobs {
    private static final Logger log = LoggerFactory.getLogger(BackupJobs.class);
    private static final Duration CLEANUP_TIMEOUT = Duration.ofSeconds(10);
    /** A job that ignores its cancel this long is stuck on an archive write: the archive is aborted. */
    private static final Duration STUCK_AFTER = Duration.ofSeconds(3);

    private final List<String> ids;
    private final List<String> sources;
    private final List<String> targets;
    private final List<String> syncBitmaps;

    /**
     * The jobs copying node {@code sources.get(i)} into {@code targets.get(i)}.
     *
     * @param tag the run's tag, part of every job id
     */
    BackupJobs(String tag, List<String> sources, List<String> targets) {
        this(tag, sources, targets, java.util.Collections.nCopies(sources.size(), null));
    }

    /**
     * The jobs copying node {@code sources.get(i)} into {@code targets.get(i)}, each only what the dirty bitmap
     * {@code syncBitmaps.get(i)} marks (left whole: mode {@code never}), or everything where that is null.
     *
     * @param tag the run's tag, part of every job id
     */
    BackupJobs(String tag, List<String> sources, List<String> targets, List<String> syncBitmaps) {
        if (syncBitmaps.size() != sources.size()) {
            throw new IllegalArgumentException("one sync bitmap (or null) per source: " + syncBitmaps);
        }
        if (sources.size() != targets.size() || sources.isEmpty()) {
            throw new IllegalArgumentException("one target per source, at least one: " + sources + " " + targets);
        }
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            ids.add("vmbk-" + tag + "-j" + i);
        }
        this.ids = List.copyOf(ids);
        this.sources = List.copyOf(sources);
        this.targets = List.copyOf(targets);
        this.syncBitmaps = java.util.Collections.unmodifiableList(new ArrayList<>(syncBitmaps));
    }

    /** The job ids, in disk order. */
    List<String> ids() {
        return ids;
    }

    /**
     * The transaction starting every job.
     *
     * @param speed each job's rate limit in bytes/s, or null for none. Throttled to 1 byte/s, the jobs copy only
     *     what the guest overwrites until {@link #setSpeed}: a job copying at full speed starves the main loop
     *     that must resume the guest after a pause.
     */
    Transaction transaction(Long speed) {
        List<Action> actions = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            String bitmap = syncBitmaps.get(i);
            BlockdevBackup.Builder b = BlockdevBackup.builder(ids.get(i), sources.get(i), targets.get(i),
                    bitmap == null ? SyncMode.FULL : SyncMode.BITMAP).autoFinalize(true).autoDismiss(false);
            if (bitmap != null) {
                // never: the bitmap keeps every bit whatever the job's end; the next bitmap, started in the same
                // instant, takes over only once the snapshot is committed
                b.bitmap(bitmap, BitmapSyncMode.NEVER);
            }
            if (speed != null) {
                b.speed(speed);
            }
            actions.add(b.build());
        }
        return new Transaction(actions, CompletionMode.GROUPED);
    }

    /** Pushes the undo: cancel, wait, dismiss; {@code stuck} aborts the archive to release a job waiting on it. */
    void pushUndo(QemuCalls q, Cleanup cleanup, Runnable stuck) {
        cleanup.push("cancel and dismiss backup jobs", () -> finish(q, stuck));
    }

    /**
     * Lets the jobs copy at {@code bytesPerSecond} in total (0: unlimited). A job that already concluded (a
     * tiny disk) refuses the speed; that is no failure.
     */
    void setSpeed(QemuCalls q, RunEvents events, long bytesPerSecond) {
        long speed = RateLimiter.share(bytesPerSecond, ids.size());
        for (String job : ids) {
            try {
                q.call(new BlockJobSetSpeed(job, speed));
            } catch (BackupException e) {
                events.pump(Duration.ZERO);
                QmpJobStatus s = events.jobStatus(job);
                if (s != QmpJobStatus.CONCLUDED && s != QmpJobStatus.PENDING && s != QmpJobStatus.WAITING) {
                    throw e;
                }
            }
        }
    }

    /** The error of a concluded job, or null if it succeeded. */
    static String error(QemuCalls q, String job) {
        for (JobInfo j : q.call(new QueryJobs())) {
            if (job.equals(j.id())) {
                return j.error();
            }
        }
        return null;
    }

    /**
     * The failure of the group: one failing job cancels the others ("Operation canceled"), so name the one that
     * failed first of its own, once all concluded (or a few seconds passed).
     *
     * @param diskNames the archive names of the disks, in job order
     */
    BackupException failure(QemuCalls q, RunEvents events, List<String> diskNames) {
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        Map<String, String> errors = new HashMap<>();
        while (true) {
            boolean all = true;
            for (JobInfo j : q.call(new QueryJobs())) {
                if (ids.contains(j.id())) {
                    all &= j.status() == QmpJobStatus.CONCLUDED;
                    if (j.error() != null) {
                        errors.put(j.id(), j.error());
                    }
                }
            }
            if (all || System.nanoTime() > deadline) {
                break;
            }
            events.pump(Duration.ofMillis(50));
        }
        String chosen = null;
        for (String id : ids) {
            String e = errors.get(id);
            if (e != null && (chosen == null || errors.get(chosen).equals("Operation canceled"))) {
                chosen = id;
            }
        }
        if (chosen == null) {
            return new BackupException("a backup job failed, but QEMU no longer reports its error");
        }
        return new BackupException("backup job of disk " + diskNames.get(ids.indexOf(chosen)) + " failed: "
                + errors.get(chosen));
    }

    /**
     * Cancels the jobs that did not conclude, waits for them (at most twice the cleanup timeout), dismisses them
     * all. A job that does not conclude within a few seconds is waiting on the archive: {@code stuck} aborts it so
     * its requests fail.
     */
    private void finish(QemuCalls q, Runnable stuck) throws InterruptedException {
        Map<String, QmpJobStatus> status = ours(q);
        if (status == null) {
            return;
        }
        for (Map.Entry<String, QmpJobStatus> e : status.entrySet()) {
            if (e.getValue() != QmpJobStatus.CONCLUDED && e.getValue() != QmpJobStatus.ABORTING) {
                q.tryRun(new JobCancel(e.getKey()), CLEANUP_TIMEOUT);
            }
        }
        long start = System.nanoTime();
        boolean aborted = false;
        while (status != null && !status.values().stream().allMatch(s -> s == QmpJobStatus.CONCLUDED)
                && System.nanoTime() - start < 2 * CLEANUP_TIMEOUT.toNanos()) {
            if (!aborted && System.nanoTime() - start > STUCK_AFTER.toNanos()) {
                log.info("backup jobs still running {} s after cancel: discarding the archive to release them",
                        STUCK_AFTER.toSeconds());
                stuck.run();
                aborted = true;
            }
            Thread.sleep(50);
            status = ours(q);
        }
        if (status == null) {
            return;
        }
        for (String id : status.keySet()) {
            q.tryRun(new JobDismiss(id), CLEANUP_TIMEOUT);
        }
    }

    /** Our jobs QEMU still has, with their status; null if QEMU did not answer. */
    private Map<String, QmpJobStatus> ours(QemuCalls q) {
        List<JobInfo> all = q.tryQuery(new QueryJobs(), CLEANUP_TIMEOUT).orElse(null);
        if (all == null) {
            return null;
        }
        Map<String, QmpJobStatus> out = new HashMap<>();
        for (JobInfo j : all) {
            if (ids.contains(j.id())) {
                out.put(j.id(), j.status());
            }
        }
        return out;
    }
}
