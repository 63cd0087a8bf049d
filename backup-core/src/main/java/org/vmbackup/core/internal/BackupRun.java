package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ArchiveSink;
import org.vmbackup.core.ArchiveTarget;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.BackupPhase;
import org.vmbackup.core.BackupProgress;
import org.vmbackup.core.BackupProgressListener;
import org.vmbackup.core.BackupResult;
import org.vmbackup.core.ConfigBlob;
import org.vmbackup.core.DiskResult;
import org.vmbackup.core.FsFreeze;
import org.vmbackup.core.FsFreezeResult;
import org.vmbackup.core.StoreTarget;
import org.vmbackup.nbd.NbdEventLoop;
import org.vmbackup.nbd.NbdServer;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpJobStatus;
import org.vmbackup.qmp.command.QueryCommands.QueryBlock;

/**
 * One backup, run start to end on the session thread: prepare (archive, {@link BackupTargets}, the
 * {@link VmstateSnapshot}'s receiver and capabilities) -> the instant ({@link BackupFreeze}, {@link GuestRunState},
 * {@link BackupJobs}' transaction, migrate) -> copy (wait for the jobs and the VM state, report progress) ->
 * finish (undo QEMU's side, commit) or fail (undo everything, abort the archive). Each step pushes its undo onto
 * {@link Cleanup} right after it changed QEMU or the host; the undo runs newest first on success, failure and
 * cancel alike, and no undo step throws past the stack.
 */
public final class BackupRun {
    private static final Logger log = LoggerFactory.getLogger(BackupRun.class);

    /**
     * What to back up and how (built by {@code BackupSession.Builder}).
     *
     * @param client an open QMP connection, or null to connect to {@code qmpSocket}
     * @param qmpSocket the QMP socket (when {@code client} is null)
     * @param disks the disks by device or node name; empty for every writable disk
     * @param vmstate whether to include the VM state
     * @param target opens the archive
     * @param configs extra config blobs
     * @param describeVm whether to add the {@code vm.json} description
     * @param listener progress
     * @param eventLoop the NBD event loop to share, or null for a private one
     * @param commandTimeout the limit of each QMP command
     * @param resumeTimeout how long to wait for QEMU to resume the guest itself before sending cont
     * @param progressInterval how often to report progress while copying
     * @param sinkThreads threads running the blocking archive writes
     * @param nbdServerListener told about the NBD server once it listens
     * @param bandwidthLimit the disks' total copy rate in bytes/s, 0 for unlimited (the VM state is never limited)
     * @param cbwTimeout the longest a guest write may wait for the archive (see {@link GuestFirstGuard})
     * @param fsFreeze whether to freeze the guest's file systems around the instant
     * @param guestAgentSocket the guest agent's socket, or null for the VM's own agent channel
     * @param freezeTimeout the longest the guest's file systems may stay frozen (see {@link GuestFreeze})
     */
    public record Config(QmpClient client, Path qmpSocket, List<String> disks, boolean vmstate, ArchiveTarget target,
            List<ConfigBlob> configs, boolean describeVm, BackupProgressListener listener, NbdEventLoop eventLoop,
            Duration commandTimeout, Duration resumeTimeout, Duration progressInterval, int sinkThreads,
            Consumer<NbdServer> nbdServerListener, long bandwidthLimit, Duration cbwTimeout,
            FsFreeze fsFreeze, Path guestAgentSocket, Duration freezeTimeout) {
    }

    private final Config cfg;
    private final String tag = UUID.randomUUID().toString().substring(0, 8);
    private final RunEvents events = new RunEvents();
    private final Cleanup cleanup = new Cleanup();
    /** Run after {@link #cleanup} and the commit: closes our QMP connection, after {@link #chain} settled. */
    private final Cleanup last = new Cleanup();
    private final AtomicReference<BackupException> sinkFailure = new AtomicReference<>();
    private final PauseStaging staging = new PauseStaging(64L << 20);
    private final GuestFirstGuard guard;
    private final BackupFreeze freeze;
    private volatile boolean cancelled;
    private volatile QmpClient client;
    private volatile BackupProgress latest;
    private volatile boolean keepArchive;
    private volatile boolean failing;
    private Runnable abortArchive = () -> { };
    private ProgressTracker tracker;
    private VmstateSnapshot vmstate;
    private IncrementalChain chain;
    private QemuCalls link;

    /** A run of {@code cfg}; call {@link #run()} once. */
    public BackupRun(Config cfg) {
        this.cfg = cfg;
        this.guard = new GuestFirstGuard(cfg.cbwTimeout(), this::sinkFailed);
        this.freeze = new BackupFreeze(cfg.fsFreeze(), cfg.freezeTimeout());
        this.latest = new BackupProgress(BackupPhase.PREPARING, List.of(), 0, !cfg.vmstate(), Duration.ZERO);
    }

    /** Asks the run to stop; it fails with "cancelled" as soon as its current QMP call returns. */
    public void cancel() {
        cancelled = true;
        events.wake();
    }

    /** The latest progress snapshot. */
    public BackupProgress progress() {
        return latest;
    }

    /**
     * Runs the backup on the calling thread.
     *
     * @throws BackupException naming the cause; nothing is left under the archive's final name then
     */
    public BackupResult run() {
        Instant started = Instant.now();
        long t0 = System.nanoTime();
        ArchiveSink sink = null;
        try {
            cleanup.push("stop the cbw timer", guard::close); // last: the exports are closed by then
            QemuCalls q = QemuLink.connect(cfg.client(), cfg.qmpSocket(), cfg.commandTimeout(), last);
            link = q;
            client = q.client();
            events.listen(q.client(), cleanup);
            QemuLink.checkRequirements(q, cfg.vmstate(), cfg.commandTimeout());
            GuestRunState runState = new GuestRunState(q, events);
            freeze.open(q, cleanup, runState.wasRunning(), cfg.guestAgentSocket(), cfg.commandTimeout());
            List<SourceDisk> disks = SourceDisk.select(SourceDisk.fromBlockInfo(q.call(new QueryBlock())),
                    cfg.disks());
            ArchiveLayout layout = ArchivePlan.layout(q, disks, started, cfg.configs(), cfg.describeVm(),
                    cfg.vmstate(), freeze.willFreeze());
            tracker = new ProgressTracker(layout.disks(), cfg.vmstate(), System::nanoTime);
            progress(BackupPhase.PREPARING);
            if (cfg.target() instanceof StoreTarget st) {
                chain = IncrementalChain.plan(q, disks, layout, st);
            }
            sink = openSink(layout);
            ArchiveSink opened = sink;
            // On failure the archive is discarded after QEMU's jobs are cancelled (earlier, guest writes that
            // copy-before-write cannot save would fail); a job stuck on the sink gets it aborted sooner.
            cleanup.push("discard the archive", () -> {
                if (!keepArchive) {
                    opened.abort();
                }
            });
            abortArchive = opened::abort;
            BackupJobs jobs = prepare(q, disks, layout, opened);
            checkAbort();

            progress(BackupPhase.CRITICAL_SECTION);
            freeze.freeze(cleanup, () -> cancelled);
            checkAbort();
            if (cfg.vmstate()) {
                criticalSection(q, jobs, runState);
            } else {
                // The transaction alone makes all disks consistent: each action drains its disk until commit.
                jobs.pushUndo(q, cleanup, abortArchive);
                if (chain != null) {
                    q.call(chain.addTransaction());
                }
                long limit = cfg.bandwidthLimit();
                q.call(jobs.transaction(limit > 0 ? RateLimiter.share(limit, disks.size()) : null));
                freeze.thaw();
            }

            progress(BackupPhase.COPYING);
            long vmstateBytes = copy(q, jobs);

            progress(BackupPhase.FINISHING);
            staging.close();
            BackupFailures.await(staging.drained(), "storing the writes acknowledged during the guest pause");
            checkAbort();
            keepArchive = true;
            cleanup.runAll(); // every job concluded and the stream ended: QEMU no longer needs anything of ours
            BackupResult r = commit(sink, layout, disks, started, t0, vmstateBytes);
            if (chain != null) {
                chain.committed(q);
            }
            last.runAll();
            return r;
        } catch (Throwable e) {
            throw fail(e, sink);
        }
    }

    private BackupResult commit(ArchiveSink sink, ArchiveLayout layout, List<SourceDisk> disks, Instant started,
            long t0, long vmstateBytes) {
        if (guard.dropping()) {
            keepArchive = false; // an archive that lost data is never committed
            throw sinkFailure.get() != null ? sinkFailure.get()
                    : new BackupException("the archive lost data it did not take in time");
        }
        try {
            sink.commit();
        } catch (IOException e) {
            throw new BackupException("cannot complete archive " + sink.describe() + ": " + e.getMessage(), e);
        }
        List<DiskResult> results = new ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
            DiskCounters c = tracker.counters(i);
            results.add(new DiskResult(layout.disk(i).name(), disks.get(i).userName(), layout.disk(i).size(),
                    c.dataBytes(), c.zeroBytes()));
        }
        if (chain != null) {
            results = chain.results(results);
        }
        progress(BackupPhase.DONE);
        FsFreezeResult frozen = freeze.result();
        Duration pause = events.pause();
        BackupResult r = new BackupResult(sink.describe(), started, results, cfg.vmstate(), vmstateBytes, pause,
                Duration.ofNanos(System.nanoTime() - t0), frozen);
        log.info("backup {} complete: {} disks, {} bytes of data, VM state {} bytes, guest paused {} ms{}",
                r.archive(), results.size(), r.totalDataBytes(), vmstateBytes, pause.toMillis(),
                frozen.mode() == FsFreeze.OFF ? "" : frozen.quiesced()
                        ? ", file systems frozen " + frozen.window().toMillis() + " ms"
                        : ", not quiesced: " + frozen.note());
        return r;
    }

    /** Undoes everything and returns what to throw (an {@link Error} other than an assertion is thrown as is). */
    private RuntimeException fail(Throwable e, ArchiveSink sink) {
        log.debug("backup failing: {}", e.toString());
        failing = true;
        keepArchive = false;
        // An interrupted session still undoes everything (resumes and thaws the guest, cleans QEMU up): the
        // interrupt is for the caller once the undo is done.
        boolean interrupted = Thread.interrupted();
        cleanup.runAll();
        if (chain != null && link != null) {
            chain.abandon(link); // the jobs are gone: the old bitmaps hold every write again
        }
        last.runAll();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (sink != null) {
            sink.abort(); // after a failed commit too
        }
        // chosen after cleanup: concurrent archive writers may still have reported the root cause meanwhile
        BackupException failure = sinkFailure.get() != null && !cancelled ? sinkFailure.get()
                : BackupFailures.asBackup(e);
        if (!freeze.thawFailure().isEmpty()) {
            failure = new BackupException(failure.getMessage() + "; AND THE GUEST'S FILE SYSTEMS MAY STILL BE "
                    + "FROZEN: the thaw failed: " + freeze.thawFailure(), failure);
        }
        log.info("backup failed: {}", failure.getMessage());
        if (tracker != null) {
            progress(BackupPhase.FAILED);
        }
        if (e instanceof Error err && !(e instanceof AssertionError)) {
            throw err;
        }
        return failure;
    }

    // ---- prepare ----

    private ArchiveSink openSink(ArchiveLayout layout) {
        try {
            return chain != null && cfg.target() instanceof StoreTarget st
                    ? st.open(layout, chain.parent(), chain.incrementalDisks()) : cfg.target().open(layout);
        } catch (IOException e) {
            throw new BackupException("cannot create the archive: " + e, e);
        }
    }

    /** NBD exports and targets, the VM state receiver and capabilities; returns the jobs to start. */
    private BackupJobs prepare(QemuCalls q, List<SourceDisk> disks, ArchiveLayout layout, ArchiveSink sink)
            throws IOException {
        BackupTargets targets = BackupTargets.open(q, cleanup, new BackupTargets.Options(tag, cfg.eventLoop(),
                cfg.sinkThreads(), cfg.nbdServerListener()), layout, (i, d, exec) -> new ArchiveExportBackend(sink,
                i, d, exec, tracker.counters(i), guard, staging));
        List<String> targetNodes = new ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
            targetNodes.add(targets.node(i));
        }
        if (cfg.vmstate()) {
            vmstate = VmstateSnapshot.prepare(q, cleanup, targets.dir(), sink, tracker::addVmstate, tag,
                    cfg.cbwTimeout(), events::wake);
        }
        return chain == null ? new BackupJobs(tag, disks.stream().map(SourceDisk::node).toList(), targetNodes)
                : new BackupJobs(tag, disks.stream().map(SourceDisk::node).toList(), targetNodes,
                        chain.syncBitmaps());
    }

    private void sinkFailed(BackupException e) {
        // Concurrent writers fail together; an I/O error (disk full...) explains more than the follow-up
        // failures of a writer that is already broken, so it replaces them.
        // Once the session is failing for another reason, archive errors are consequences of the cleanup.
        BackupException old = sinkFailure.get();
        while ((old == null && !failing)
                || (old != null && !BackupFailures.hasIoCause(old) && BackupFailures.hasIoCause(e))) {
            if (sinkFailure.compareAndSet(old, e)) {
                log.warn("{}", e.getMessage());
                events.wake();
                return;
            }
            old = sinkFailure.get();
        }
    }

    // ---- the instant ----

    private void criticalSection(QemuCalls q, BackupJobs jobs, GuestRunState runState) {
        runState.pushUndo(cleanup);
        cleanup.push("stop early acknowledgements", staging::close);
        staging.open(); // QEMU drains the jobs' first requests inside the pause: acknowledge them at once
        long t0 = System.nanoTime();
        // stop, the transaction and migrate go out together: QEMU runs them in order, and the guest pause then
        // includes no QMP round trip through this process. Should the transaction fail, the snapshot that starts
        // anyway is drained into the void by the undo (never cut off: see VmstateSnapshot).
        jobs.pushUndo(q, cleanup, abortArchive);
        vmstate.pushUndo(q, cleanup);
        var stopped = runState.sendStop();
        var marked = chain == null ? null : q.send(chain.addTransaction()); // bitmaps refuse a grouped one
        var started = q.send(jobs.transaction(1L)); // throttled until the guest runs again
        var migrating = q.send(vmstate.migrate());
        if (stopped != null) {
            q.await("stop", stopped);
        }
        long t1 = System.nanoTime();
        if (marked != null) {
            q.await("transaction", marked);
        }
        q.await("transaction", started);
        long t2 = System.nanoTime();
        q.await("migrate", migrating);
        long t3 = System.nanoTime();
        runState.afterSnapshotSetup(cfg.resumeTimeout(), cfg.commandTimeout(), this::checkAbort);
        freeze.thaw(); // the instant is taken: the guest's writers go on while the disks are copied
        staging.close();
        long t4 = System.nanoTime();
        log.debug("critical section: stop {} us, transaction {} us, migrate {} us, until RESUME seen {} us",
                (t1 - t0) / 1000, (t2 - t1) / 1000, (t3 - t2) / 1000, (t4 - t3) / 1000);
        jobs.setSpeed(q, events, cfg.bandwidthLimit());
    }

    // ---- copy ----

    private long copy(QemuCalls q, BackupJobs jobs) {
        List<String> ids = jobs.ids();
        Set<String> open = new HashSet<>(ids);
        long nextProgress = System.nanoTime() + cfg.progressInterval().toNanos();
        while (true) {
            checkAbort();
            for (String job : List.copyOf(open)) {
                if (events.jobStatus(job) == QmpJobStatus.CONCLUDED) {
                    if (BackupJobs.error(q, job) != null) {
                        checkAbort(); // an archive failure explains the job failure better than QEMU's message
                        throw jobs.failure(q, events, tracker.snapshot(BackupPhase.COPYING).disks().stream()
                                .map(d -> d.name()).toList());
                    }
                    open.remove(job);
                    tracker.markFinished(ids.indexOf(job));
                    progress(BackupPhase.COPYING);
                }
            }
            boolean vmstateDone = vmstate == null || vmstate.done(events);
            if (open.isEmpty() && vmstateDone) {
                break;
            }
            if (System.nanoTime() >= nextProgress) {
                progress(BackupPhase.COPYING);
                nextProgress = System.nanoTime() + cfg.progressInterval().toNanos();
            }
            events.pump(cfg.progressInterval());
        }
        if (vmstate == null) {
            return 0;
        }
        long n = vmstate.completion().join();
        tracker.markVmstateFinished();
        return n;
    }

    // ---- failures and progress ----

    private void checkAbort() {
        if (cancelled) {
            throw new BackupException("backup cancelled");
        }
        BackupException sf = sinkFailure.get();
        if (sf != null) {
            throw sf;
        }
        if (client != null && !client.isOpen()) {
            throw new BackupException("QEMU connection lost during the backup (QEMU exited or closed the monitor)");
        }
        if (events.overflowed()) {
            throw new BackupException("QEMU sent more events than the session can queue");
        }
        if (vmstate != null) {
            vmstate.check(events);
        }
    }

    private void progress(BackupPhase phase) {
        BackupProgress p = tracker.snapshot(phase);
        latest = p;
        try {
            cfg.listener().onProgress(p);
        } catch (RuntimeException e) {
            log.warn("progress listener failed: {}", e.toString());
        }
    }
}
