package org.vmbackup.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.CancelSignal;
import org.vmbackup.core.internal.RateLimiter;
import org.vmbackup.core.internal.RestoreDiskMatch;
import org.vmbackup.core.internal.RestoreMigrationFeeder;
import org.vmbackup.core.internal.RestoreProgressReporter;
import org.vmbackup.core.internal.RestoredGuestThaw;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpClientOptions;
import org.vmbackup.qmp.QmpEvent;
import org.vmbackup.qmp.QmpEventSubscription;
import org.vmbackup.qmp.command.BlockCommands;
import org.vmbackup.qmp.command.JobCommands;
import org.vmbackup.qmp.command.MachineCommands;
import org.vmbackup.qmp.command.MigrationCommands;
import org.vmbackup.qmp.command.QueryCommands;

/**
 * A prepared live restore: the archive is served over NBD and the local images exist. Start QEMU on
 * {@link #images()}, then call {@link #start}. {@link #close()} gives up (the images then lose their backing data).
 */
public final class LiveRestorePlan {
    private static final Logger log = LoggerFactory.getLogger(LiveRestorePlan.class);

    private final ArchiveExportServer server;
    private final Map<String, Path> images;
    private final Path socket;
    /** The temporary directory of the socket, made by the session (removed at the end), or null. */
    private final Path ownedSocketDir;
    private final long rateLimit;
    private final RestoreProgressListener listener;
    private final Executor executor;
    private final long t0;
    /** The session's: a cancel before {@link #start} discards the plan; a start makes later cancels too late. */
    private final CancelSignal cancel;
    private final java.util.concurrent.atomic.AtomicBoolean discarded = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicReference<LiveRestoreRun> run =
            new java.util.concurrent.atomic.AtomicReference<>();
    private volatile boolean cancelAfterStart;
    private volatile boolean started;

    LiveRestorePlan(ArchiveExportServer server, Map<String, Path> images, Path socket, Path ownedSocketDir,
            long rateLimit, RestoreProgressListener listener, Executor executor, long t0, CancelSignal cancel) {
        this.cancel = cancel;
        this.server = server;
        this.images = Map.copyOf(images);
        this.socket = socket;
        this.ownedSocketDir = ownedSocketDir;
        this.rateLimit = rateLimit;
        this.listener = listener;
        this.executor = executor;
        this.t0 = t0;
    }

    /** The local image of each archive disk (device name to qcow2 path), to start QEMU with. */
    public Map<String, Path> images() {
        return images;
    }

    /** The NBD socket serving the archive (the images' backing files point at it). */
    public Path nbdSocket() {
        return socket;
    }

    /**
     * Completes once the archive is indexed: {@link LiveRestoreSession#prepare()} only checks its header, the scan of
     * its extents (a VMA file's) runs in the background (so the time to a running VM does not grow with the disks).
     * Fails with the scan's error (an {@link UncheckedIOException} naming the archive, e.g. a truncated VMA); then guest reads
     * of archive data fail and {@link #start} fails before resuming the guest. Join it before starting QEMU to refuse
     * a bad archive first, at the cost of the scan's time.
     */
    public CompletableFuture<Void> archiveIndexed() {
        return server.ready();
    }

    /** Whether the archive has a VM state (then start QEMU with {@code -incoming defer}). */
    public boolean hasVmstate() {
        return server.layout().hasVmstate();
    }

    /**
     * QEMU arguments attaching the images like the archive names them ({@code drive-X} becomes
     * {@code -drive if=none,id=X,...}); add the guest devices ({@code -device virtio-blk-pci,drive=X}) yourself.
     */
    public List<String> driveArgs() {
        return server.disks().stream().flatMap(d -> {
            String id = d.name().startsWith("drive-") ? d.name().substring(6) : d.name();
            return java.util.stream.Stream.of("-drive", "if=none,id=" + id + ",file=" + images.get(d.name())
                    + ",format=qcow2");
        }).toList();
    }

    /**
     * Connects to the QMP socket of the QEMU started on the images and {@link #start(QmpClient) starts}. QEMU is
     * typically being started just now, so this waits for its socket (up to
     * {@link QmpClientOptions#DEFAULT_CONNECT_TIMEOUT}) where a plain {@code QmpClient.connect} fails at once.
     */
    public CompletableFuture<LiveRestoreRun> start(Path qmpSocket) {
        if (cancel.cancelled()) { // discarded: no QEMU to wait for
            return CompletableFuture.failedFuture(cancel.exception());
        }
        return QmpClient.connect(qmpSocket, QmpClientOptions.builder().retry(true).build())
                .thenCompose(c -> start(c, true));
    }

    /**
     * Checks QEMU's disks are the prepared images, loads the VM state if QEMU waits for an incoming migration,
     * resumes the guest and starts the background copy.
     *
     * @return completes once the guest runs; fails with a {@link BackupException} if QEMU does not match
     */
    public CompletableFuture<LiveRestoreRun> start(QmpClient qmp) {
        return start(qmp, false);
    }

    private CompletableFuture<LiveRestoreRun> start(QmpClient qmp, boolean ownsClient) {
        if (!cancel.finish()) {
            if (ownsClient) {
                qmp.close();
            }
            return CompletableFuture.failedFuture(cancel.exception());
        }
        started = true;
        return CompletableFuture.supplyAsync(() -> {
            boolean handedOver = false;
            try {
                LiveRestoreRun r = doStart(qmp, ownsClient);
                handedOver = true; // the run owns the connection now
                return r;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BackupException("interrupted", e);
            } finally {
                // whatever failed (an I/O error feeding the VM state too): QEMU's monitor serves one client at a time
                if (!handedOver && ownsClient) {
                    qmp.close();
                }
            }
        }, executor).exceptionallyCompose(e -> CompletableFuture.failedFuture(
                e instanceof CompletionException && e.getCause() != null ? e.getCause() : e));
    }

    private LiveRestoreRun doStart(QmpClient qmp, boolean ownsClient) throws IOException, InterruptedException {
        log.debug("live restore: QMP connected after {} ms", LiveRestoreSession.ms(t0));
        // both queries in flight at once: one round trip to QEMU, not two
        CompletableFuture<QueryCommands.StatusInfo> status = qmp.execute(new QueryCommands.QueryStatus());
        CompletableFuture<List<QueryCommands.BlockInfo>> block = qmp.execute(new QueryCommands.QueryBlock());
        QueryCommands.StatusInfo st = RestoreVmSession.await(status, "query-status");
        List<QueryCommands.BlockInfo> blocks = RestoreVmSession.await(block, "query-block");
        log.debug("live restore: query-status '{}' and query-block after {} ms", st.status(),
                LiveRestoreSession.ms(t0));
        List<RestoreDiskMatch> matches = RestoreDiskMatch.match(server.disks(), blocks);
        for (RestoreDiskMatch m : matches) {
            Path want = images.get(m.device().name());
            if (!"qcow2".equals(m.driver()) || m.file() == null || !Path.of(m.file()).toAbsolutePath().normalize()
                    .equals(want)) {
                throw new BackupException("QEMU disk " + m.qemuDevice() + " is " + m.file() + " (" + m.driver()
                        + "), not the prepared image " + want);
            }
        }
        boolean loaded = false;
        boolean withVmstate = "inmigrate".equals(st.status());
        RestoreProgressReporter progress = new RestoreProgressReporter(
                matches.stream().map(RestoreDiskMatch::device).toList(), withVmstate && hasVmstate(), listener,
                System::nanoTime, t0);
        if (withVmstate) {
            if (!hasVmstate()) {
                throw new BackupException("QEMU waits for an incoming migration but the archive has no VM state: "
                        + "start it without -incoming");
            }
            awaitIndex();
            loadVmstate(qmp, progress);
            loaded = true;
            st = RestoreVmSession.await(qmp.execute(new QueryCommands.QueryStatus()), "query-status");
            log.debug("live restore: query-status '{}' after {} ms", st.status(), LiveRestoreSession.ms(t0));
        } else if (hasVmstate()) {
            log.warn("QEMU is '{}', not waiting for an incoming migration: the archive's VM state is not restored",
                    st.status());
        }
        if (!st.running()) {
            awaitIndex(); // never resume a guest on an archive whose scan failed
            RestoreVmSession.await(qmp.execute(new MachineCommands.Cont()), "cont");
        }
        Duration toRunning = Duration.ofNanos(System.nanoTime() - t0);
        log.info("live restore: guest running after {} ms", toRunning.toMillis());
        awaitIndex(); // a guest started running by itself ran on the exports, which waited for the index
        QmpEventSubscription jobs = qmp.subscribe(e -> e instanceof QmpEvent.BlockJobCompleted
                || e instanceof QmpEvent.BlockJobCancelled || e instanceof QmpEvent.BlockJobError);
        List<String> copying = new ArrayList<>();
        try {
            for (RestoreDiskMatch m : matches) {
                copying.add(LiveRestoreRun.jobId(m)); // before the answer: one that timed out may still start
                RestoreVmSession.await(qmp.execute(new BlockCommands.BlockStream(LiveRestoreRun.jobId(m),
                        m.qemuDevice(), null, rateLimit > 0 ? RateLimiter.share(rateLimit, matches.size()) : null,
                        null, null)), "block-stream of "
                        + m.qemuDevice());
            }
        } catch (RuntimeException | InterruptedException e) {
            jobs.close();
            // no run watches the copies already started: they would read the archive until it is closed under them
            cancelCopies(qmp, copying);
            throw e;
        }
        if (loaded && RestoredGuestThaw.savedFrozen(server.source())) {
            RestoredGuestThaw.thaw(qmp); // the archive holds a guest frozen for its backup
        }
        LiveRestoreRun r = new LiveRestoreRun(qmp, ownsClient, server, socket, ownedSocketDir, matches, images, jobs,
                progress, executor, t0, toRunning);
        run.set(r);
        if (cancelAfterStart) {
            r.cancel(); // the session was cancelled while this started
        }
        return r;
    }

    /** Cancels the copy jobs {@code ids} (those that exist), waiting a bounded time for QEMU's answers. */
    private static void cancelCopies(QmpClient qmp, List<String> ids) {
        CompletableFuture<?>[] sent = ids.stream().map(id -> qmp.execute(new JobCommands.JobCancel(id))
                .exceptionally(e -> null)).toArray(CompletableFuture[]::new); // a refused copy is no job
        try {
            CompletableFuture.allOf(sent).get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("live restore: cancelling the copies {}: {}", ids, e.toString());
        }
    }

    /** Waits for the archive's index (scanned in the background since prepare) and throws its failure as is. */
    private void awaitIndex() throws InterruptedException {
        try {
            server.ready().get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause() instanceof CompletionException && e.getCause().getCause() != null
                    ? e.getCause().getCause() : e.getCause();
            throw c instanceof RuntimeException r ? r : new BackupException("indexing the archive failed: " + c, c);
        }
        log.debug("live restore: archive index ready after {} ms", LiveRestoreSession.ms(t0));
    }

    private void loadVmstate(QmpClient qmp, RestoreProgressReporter progress) throws IOException, InterruptedException {
        Path mig = socket.resolveSibling("migrate.sock");
        Files.deleteIfExists(mig);
        try (QmpEventSubscription events = qmp.subscribe(e -> e instanceof QmpEvent.Migration)) {
            RestoreVmSession.await(qmp.execute(MigrationCommands.MigrateSetCapabilities.of(
                    new MigrationCommands.Capability("events", true))), "migrate-set-capabilities");
            RestoreVmSession.await(qmp.execute(new MigrationCommands.MigrateIncoming("unix:" + mig)),
                    "migrate-incoming");
            // not held to the bandwidth limit: the guest waits for its state, as for its own reads of the archive
            long sent;
            try (var vmstate = server.source().vmstate()) {
                sent = RestoreMigrationFeeder.feed(mig, vmstate, RateLimiter.of(0), cancel,
                        n -> progress.vmstate(n, false));
            }
            QmpEvent.Migration end = RestoreVmSession.await(events.await(QmpEvent.Migration.class,
                    m -> m.status().equals("completed") || m.status().equals("failed"), Duration.ofMinutes(30)),
                    "the incoming migration to finish");
            if (end.status().equals("failed")) {
                throw new BackupException("QEMU failed to load the archive's VM state (" + sent + " bytes sent)");
            }
            progress.vmstate(sent, true);
        } finally {
            Files.deleteIfExists(mig);
        }
    }

    /**
     * The session's cancel once {@link #start} began: the run's {@link LiveRestoreRun#cancel()}, at once or as soon as
     * the start created the run.
     *
     * @return false if too late (the copy already ended)
     */
    boolean cancelStarted() {
        if (!started) {
            return false;
        }
        cancelAfterStart = true;
        LiveRestoreRun r = run.get();
        return r == null || r.cancel();
    }

    /**
     * The session's cancel: stops serving the archive (bounded wait) and removes the images, once; the guest never
     * ran on them.
     */
    void discard() {
        if (!discarded.compareAndSet(false, true)) {
            return;
        }
        try {
            close().get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("live restore: closing the archive's NBD server: {}", e.toString());
        }
        for (Path image : images.values()) {
            try {
                Files.deleteIfExists(image);
            } catch (IOException e) {
                log.warn("live restore: cannot remove {}: {}", image, e.toString());
            }
        }
    }

    /** Gives up before {@link #start}: stops serving the archive. The images stay but cannot be read any more. */
    public CompletableFuture<Void> close() {
        return server.close().thenRun(() -> removeSocket(socket, ownedSocketDir));
    }

    /** Removes the NBD socket and, if the session made it, its temporary directory (best effort). */
    static void removeSocket(Path socket, Path ownedDir) {
        try {
            Files.deleteIfExists(socket);
            if (ownedDir != null) {
                Files.deleteIfExists(ownedDir);
            }
        } catch (IOException e) {
            log.debug("cannot remove {}: {}", socket, e.toString());
        }
    }
}
