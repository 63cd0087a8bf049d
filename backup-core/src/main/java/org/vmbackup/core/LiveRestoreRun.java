package org.vmbackup.core;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.RestoreProgressReporter;
import org.vmbackup.core.internal.RestoreDiskMatch;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpEvent;
import org.vmbackup.qmp.QmpEventSubscription;
import org.vmbackup.qmp.command.BlockCommands;
import org.vmbackup.qmp.command.JobCommands;
import org.vmbackup.qmp.command.QueryCommands;

/**
 * A live restore in progress: the guest runs on the archive-backed images while {@code block-stream} jobs copy the
 * data in. {@link #completion()} completes once every disk stands alone and the archive is released.
 */
public final class LiveRestoreRun {
    private static final Logger log = LoggerFactory.getLogger(LiveRestoreRun.class);
    /** How long QEMU gets to end the copy jobs after a cancel (a job-cancel takes effect at its next chunk). */
    private static final Duration CANCEL_WAIT = Duration.ofSeconds(60);

    private final QmpClient qmp;
    private final boolean ownsClient;
    private final ArchiveExportServer server;
    private final Path socket;
    private final Path ownedSocketDir;
    private final List<RestoreDiskMatch> matches;
    private final Map<String, Path> images;
    private final RestoreProgressReporter progress;
    private final long t0;
    private final Duration timeToRunning;
    private final CompletableFuture<LiveRestoreResult> completion = new CompletableFuture<>();
    private final ScheduledExecutorService poller;
    private final AtomicBoolean cancelRequested = new AtomicBoolean();
    /** The copy jobs still running when a copy failed (null until then): a later {@link #cancel()} ends them. */
    private volatile Set<String> runningAfterFailure;
    private final AtomicBoolean leftCancelled = new AtomicBoolean();
    private volatile long cancelDeadline;

    LiveRestoreRun(QmpClient qmp, boolean ownsClient, ArchiveExportServer server, Path socket, Path ownedSocketDir,
            List<RestoreDiskMatch> matches, Map<String, Path> images, QmpEventSubscription jobs,
            RestoreProgressReporter progress, Executor executor, long t0, Duration timeToRunning) {
        this.qmp = qmp;
        this.ownsClient = ownsClient;
        this.server = server;
        this.socket = socket;
        this.ownedSocketDir = ownedSocketDir;
        this.matches = List.copyOf(matches);
        this.images = images;
        this.progress = progress;
        this.t0 = t0;
        this.timeToRunning = timeToRunning;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "live-restore-progress");
            t.setDaemon(true);
            return t;
        });
        poller.scheduleWithFixedDelay(this::poll, 500, 500, TimeUnit.MILLISECONDS);
        org.vmbackup.core.internal.RestoreThreads.perTask("live-restore-copy").execute(() -> awaitJobs(jobs));
    }

    static String jobId(RestoreDiskMatch m) {
        return "restore-" + m.qemuDevice();
    }

    /** From {@link LiveRestoreSession#prepare()} to the guest running. */
    public Duration timeToRunning() {
        return timeToRunning;
    }

    /** Changes the copy rate limit of every disk still copying (bytes/s, 0 = unlimited). */
    public CompletableFuture<Void> setRateLimit(long bytesPerSecond) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (RestoreDiskMatch m : matches) {
            all.add(qmp.execute(new BlockCommands.BlockJobSetSpeed(jobId(m), bytesPerSecond))
                    .exceptionally(e -> null)); // a finished job is gone: nothing to change
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    /** Completes when all disks are local and the archive is released; fails if a copy job failed. */
    public CompletableFuture<LiveRestoreResult> completion() {
        return completion;
    }

    /**
     * Gives up the background copy at any moment: cancels the copy jobs still running, waits (bounded) for QEMU to
     * end them, stops serving the archive and removes its socket; {@link #completion()} then fails with a
     * {@link CancellationException} (it completes normally if every copy finished first). The guest loses access to
     * whatever was not copied yet: its disks still name the archive as their backing file, so reads of those parts
     * fail from now on. Use it when the VM is being discarded, or after a failed copy (then it cancels the other disks'
     * copies still running, and {@link #completion()} keeps the copy's failure); then stop QEMU.
     *
     * @return false if too late: the copy had already ended (or was already cancelled)
     */
    public boolean cancel() {
        if (completion.isDone()) {
            // after a failed copy the other disks' copies still run: those are what a cancel gives up now
            Set<String> left = runningAfterFailure;
            if (left == null || left.isEmpty() || !leftCancelled.compareAndSet(false, true)) {
                return false;
            }
            log.info("live restore: cancelling the background copies still running after a failed one: {}", left);
            List<CompletableFuture<Void>> sent = new ArrayList<>();
            for (String job : left) {
                sent.add(qmp.execute(new JobCommands.JobCancel(job)).exceptionally(e -> null)); // may be over
            }
            if (ownsClient) { // kept open for this cancel (see awaitJobs)
                CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new))
                        .orTimeout(CANCEL_WAIT.toSeconds(), TimeUnit.SECONDS).whenComplete((v, e) -> qmp.close());
            }
            return true;
        }
        if (!cancelRequested.compareAndSet(false, true)) {
            return false;
        }
        cancelDeadline = System.nanoTime() + CANCEL_WAIT.toNanos();
        poller.shutdownNow();
        log.info("live restore: cancelling the background copy");
        for (RestoreDiskMatch m : matches) {
            qmp.execute(new JobCommands.JobCancel(jobId(m))).exceptionally(e -> null); // a finished job is gone
        }
        return true;
    }

    /**
     * {@link #cancel()}, then waits for the cancel to take effect (bounded): completes once the archive is no longer
     * served and, if this run opened its QMP connection, that is closed.
     */
    public CompletableFuture<Void> close() {
        cancel();
        return completion.handle((r, e) -> (Void) null).thenCompose(v -> server.close()).orTimeout(
                CANCEL_WAIT.toSeconds() + 30, TimeUnit.SECONDS);
    }

    private void poll() {
        qmp.execute(new QueryCommands.QueryBlockJobs()).thenAccept(list -> {
            for (QueryCommands.BlockJobInfo j : list) {
                for (RestoreDiskMatch m : matches) {
                    if (j.device().equals(jobId(m)) && !completion.isDone()) {
                        progress.disk(m.device().name(), j.offset(), 0);
                    }
                }
            }
        });
    }

    private void awaitJobs(QmpEventSubscription jobs) {
        Set<String> pending = new HashSet<>();
        matches.forEach(m -> pending.add(jobId(m)));
        Set<String> cancelled = new HashSet<>();
        CompletableFuture<QmpEvent> next = null;
        try (jobs) {
            while (!pending.isEmpty()) {
                if (next == null) {
                    next = jobs.next();
                }
                QmpEvent e;
                try {
                    // unbounded while copying (a copy takes as long as the disks need); bounded once cancelled
                    e = next.get(1, TimeUnit.SECONDS);
                    next = null;
                } catch (TimeoutException t) {
                    if (cancelRequested.get() && System.nanoTime() - cancelDeadline > 0) {
                        throw new BackupException("QEMU did not end the copy jobs " + pending + " within "
                                + CANCEL_WAIT.toSeconds() + " s of the cancel");
                    }
                    continue;
                }
                String id;
                String error;
                if (e instanceof QmpEvent.BlockJobCompleted c) {
                    id = c.device();
                    error = c.error();
                } else if (e instanceof QmpEvent.BlockJobCancelled c) {
                    id = c.device();
                    error = "cancelled";
                } else if (e instanceof QmpEvent.BlockJobError c) {
                    id = c.device();
                    error = "I/O error during " + c.operation();
                } else {
                    continue;
                }
                if (!pending.remove(id)) {
                    continue;
                }
                RestoreDiskMatch m = matches.stream().filter(x -> jobId(x).equals(id)).findFirst().orElseThrow();
                if (cancelRequested.get() && e instanceof QmpEvent.BlockJobCancelled) {
                    cancelled.add(m.device().name());
                    continue;
                }
                if (error != null) {
                    runningAfterFailure = Set.copyOf(pending);
                    throw new BackupException("background copy of " + m.device().name() + " into QEMU disk "
                            + m.qemuDevice() + " failed: " + error);
                }
                progress.diskFinished(m.device().name());
            }
            if (!cancelled.isEmpty()) {
                server.close().get(30, TimeUnit.SECONDS);
                LiveRestorePlan.removeSocket(socket, ownedSocketDir);
                log.info("live restore cancelled: the copy of {} stopped, archive released", cancelled);
                completion.completeExceptionally(new CancellationException("live restore cancelled: "
                        + String.join(", ", cancelled) + " not completely copied"));
                return;
            }
            List<QueryCommands.BlockDeviceInfo> nodes = qmp.execute(new QueryCommands.QueryNamedBlockNodes(true))
                    .get(30, TimeUnit.SECONDS);
            if (nodes.stream().anyMatch(n -> "nbd".equals(n.driver()))) {
                throw new BackupException("the copy finished but QEMU still has an NBD node open");
            }
            poller.shutdownNow();
            server.close().get(30, TimeUnit.SECONDS);
            LiveRestorePlan.removeSocket(socket, ownedSocketDir);
            List<RestoredDisk> disks = new ArrayList<>();
            for (RestoreDiskMatch m : matches) {
                disks.add(new RestoredDisk(m.device().name(), images.get(m.device().name()), RestoreFormat.QCOW2,
                        m.device().size(), -1));
            }
            Duration total = Duration.ofNanos(System.nanoTime() - t0);
            log.info("live restore finished after {} ms; archive released", total.toMillis());
            completion.complete(new LiveRestoreResult(disks, timeToRunning, total));
        } catch (Exception e) {
            poller.shutdownNow();
            if (cancelRequested.get()) {
                // the archive goes anyway: the caller asked to give the copy up
                server.close();
                LiveRestorePlan.removeSocket(socket, ownedSocketDir);
            }
            Throwable c = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause()
                    : e;
            completion.completeExceptionally(c instanceof BackupException ? c
                    : new BackupException("live restore failed: " + c.getMessage(), c));
        } finally {
            // after a failed copy with others still running, the connection stays for the cancel (or close) the
            // caller is told to make then, which closes it
            Set<String> left = runningAfterFailure;
            if (ownsClient && (left == null || left.isEmpty())) {
                qmp.close();
            }
        }
    }
}
