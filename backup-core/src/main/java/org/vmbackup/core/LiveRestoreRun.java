package org.vmbackup.core;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.RestoreProgressReporter;
import org.vmbackup.core.internal.RestoreDiskMatch;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpEvent;
import org.vmbackup.qmp.QmpEventSubscription;
import org.vmbackup.qmp.command.BlockCommands;
import org.vmbackup.qmp.command.QueryCommands;

/**
 * A live restore in progress: the guest runs on the archive-backed images while {@code block-stream} jobs copy the
 * data in. {@link #completion()} completes once every disk stands alone and the archive is released.
 */
public final class LiveRestoreRun {
    private static final Logger log = LoggerFactory.getLogger(LiveRestoreRun.class);

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
     * Gives up: cancels the copy jobs still running and stops serving the archive. The guest then loses access to
     * whatever was not copied yet, so use this only when the VM is being discarded (or after a failed copy).
     */
    public CompletableFuture<Void> close() {
        poller.shutdownNow();
        List<CompletableFuture<Void>> all = new ArrayList<>();
        if (!completion.isDone()) {
            for (RestoreDiskMatch m : matches) {
                all.add(qmp.execute(new org.vmbackup.qmp.command.JobCommands.JobCancel(jobId(m)))
                        .exceptionally(e -> null));
            }
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenCompose(v -> server.close())
                .whenComplete((v, e) -> {
                    if (ownsClient) {
                        qmp.close();
                    }
                });
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
        try (jobs) {
            while (!pending.isEmpty()) {
                QmpEvent e = jobs.next().get();
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
                if (error != null) {
                    throw new BackupException("background copy of " + m.device().name() + " into QEMU disk "
                            + m.qemuDevice() + " failed: " + error);
                }
                progress.diskFinished(m.device().name());
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
            Throwable c = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause()
                    : e;
            completion.completeExceptionally(c instanceof BackupException ? c
                    : new BackupException("live restore failed: " + c.getMessage(), c));
        } finally {
            if (ownsClient) {
                qmp.close();
            }
        }
    }
}
