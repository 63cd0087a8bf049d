package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.ArchiveDisk;
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
import org.vmbackup.core.VmDescription;
import org.vmbackup.nbd.NbdEventLoop;
import org.vmbackup.nbd.NbdExport;
import org.vmbackup.nbd.NbdServer;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonArray;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpEvent;
import org.vmbackup.qmp.QmpJobStatus;
import org.vmbackup.qmp.QmpSchema;

/**
 * One backup, run start to end on the session thread as a small state machine: prepare (archive, NBD exports,
 * targets, capabilities) -> critical section (stop, transaction, migrate, resume) -> copy (wait for jobs and
 * the VM state, report progress) -> finish (QEMU cleanup, commit) or fail (abort, QEMU cleanup). Every step
 * that changes QEMU or the host pushes its undo onto {@link Cleanup} right next to where it makes the change.
 */
public final class BackupRun {
    private static final Logger log = LoggerFactory.getLogger(BackupRun.class);
    private static final Duration CLEANUP_TIMEOUT = Duration.ofSeconds(10);
    private static final AtomicInteger THREADS = new AtomicInteger();

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
            java.util.function.Consumer<NbdServer> nbdServerListener, long bandwidthLimit, Duration cbwTimeout,
            FsFreeze fsFreeze, Path guestAgentSocket, Duration freezeTimeout) {
    }

    /** The longest each guest agent call before the freeze may take: a silent agent must not delay a backup long. */
    private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(10);

    private final Config cfg;
    private final String tag = UUID.randomUUID().toString().substring(0, 8);
    private final SessionInbox inbox = new SessionInbox(100_000);
    private final Cleanup cleanup = new Cleanup();
    private final AtomicReference<BackupException> sinkFailure = new AtomicReference<>();
    private volatile boolean cancelled;
    private volatile QmpClient client;
    private volatile BackupProgress latest;
    private volatile boolean keepArchive;
    private volatile boolean failing;
    private Runnable abortArchive = () -> { };
    private final PauseStaging staging = new PauseStaging(64L << 20);
    private final GuestFirstGuard guard;
    private ProgressTracker tracker;
    private VmstateReceiver receiver;
    // the file-system freeze: null without one (off, or unavailable with TRY, freezeNote then says why)
    private GuestFreeze freeze;
    private boolean freezeHeld;
    private String freezeNote = "";
    // learned from events, on the session thread only
    private Instant stopAt;
    private Instant resumeAt;
    private boolean resumeSeen;
    private final Map<String, QmpJobStatus> jobStatus = new HashMap<>();
    private String migrationStatus = "none";

    /** A run of {@code cfg}; call {@link #run()} once. */
    public BackupRun(Config cfg) {
        this.cfg = cfg;
        this.guard = new GuestFirstGuard(cfg.cbwTimeout(), this::sinkFailed);
        this.latest = new BackupProgress(BackupPhase.PREPARING, List.of(), 0, !cfg.vmstate(), Duration.ZERO);
    }

    /** Asks the run to stop; it fails with "cancelled" as soon as its current QMP call returns. */
    public void cancel() {
        cancelled = true;
        inbox.wake();
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
            QemuCalls q = connect();
            listen(q.client());
            checkRequirements(q);
            boolean wasRunning = q.call("query-status", null).require("running").asBoolean();
            openFreeze(q, wasRunning); // before anything is done to QEMU: a missing agent changes nothing
            List<SourceDisk> disks = SourceDisk.select(SourceDisk.fromQueryBlock(q.call("query-block", null)),
                    cfg.disks());
            ArchiveLayout layout = layout(q, disks, started);
            tracker = new ProgressTracker(layout.disks(), cfg.vmstate(), System::nanoTime);
            progress(BackupPhase.PREPARING);
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
            List<String> jobs = prepare(q, disks, layout, sink);
            checkAbort();

            progress(BackupPhase.CRITICAL_SECTION);
            freezeGuest();
            if (cfg.vmstate()) {
                criticalSection(q, disks, jobs, wasRunning);
            } else {
                // The transaction alone makes all disks consistent: each action drains its disk until commit.
                cleanup.push("cancel and dismiss backup jobs", () -> finishJobs(q, jobs, abortArchive));
                q.call("transaction", transaction(disks, jobs, false));
                thawGuest();
            }

            progress(BackupPhase.COPYING);
            long vmstateBytes = copy(q, jobs);

            progress(BackupPhase.FINISHING);
            staging.close();
            await(staging.drained(), "storing the writes acknowledged during the guest pause");
            checkAbort();
            keepArchive = true;
            cleanup.runAll(); // every job concluded and the stream ended: QEMU no longer needs anything of ours
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
            Duration pause = stopAt != null && resumeAt != null ? Duration.between(stopAt, resumeAt) : Duration.ZERO;
            List<DiskResult> results = new ArrayList<>();
            for (int i = 0; i < disks.size(); i++) {
                DiskCounters c = tracker.counters(i);
                results.add(new DiskResult(layout.disk(i).name(), disks.get(i).userName(), layout.disk(i).size(),
                        c.dataBytes(), c.zeroBytes()));
            }
            progress(BackupPhase.DONE);
            FsFreezeResult frozen = freezeResult();
            BackupResult r = new BackupResult(sink.describe(), started, results, cfg.vmstate(), vmstateBytes, pause,
                    Duration.ofNanos(System.nanoTime() - t0), frozen);
            log.info("backup {} complete: {} disks, {} bytes of data, VM state {} bytes, guest paused {} ms{}",
                    r.archive(), results.size(), r.totalDataBytes(), vmstateBytes, pause.toMillis(),
                    frozen.mode() == FsFreeze.OFF ? "" : frozen.quiesced()
                            ? ", file systems frozen " + frozen.window().toMillis() + " ms"
                            : ", not quiesced: " + frozen.note());
            return r;
        } catch (Throwable e) {
            log.debug("backup failing: {}", e.toString());
            failing = true;
            keepArchive = false;
            // An interrupted session still undoes everything (resumes and thaws the guest, cleans QEMU up): the
            // interrupt is for the caller once the undo is done.
            boolean interrupted = Thread.interrupted();
            cleanup.runAll();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (sink != null) {
                sink.abort(); // after a failed commit too
            }
            // chosen after cleanup: concurrent archive writers may still have reported the root cause meanwhile
            BackupException failure = sinkFailure.get() != null && !cancelled ? sinkFailure.get() : asBackup(e);
            if (freeze != null && !freeze.thawFailure().isEmpty()) {
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
            throw failure;
        }
    }

    private static BackupException asBackup(Throwable e) {
        if (e instanceof BackupException be) {
            return be;
        }
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        return new BackupException("backup failed: " + m, e);
    }

    // ---- prepare ----

    private QemuCalls connect() {
        QmpClient client = cfg.client();
        if (client == null) {
            try {
                client = QmpClient.connect(cfg.qmpSocket()).get(cfg.commandTimeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                // the client's message names the socket and the reason (missing, not a socket, refused)
                throw new BackupException(e.getCause().getMessage(), e.getCause());
            } catch (TimeoutException e) {
                throw new BackupException("cannot connect to QMP socket " + cfg.qmpSocket() + " within "
                        + cfg.commandTimeout(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BackupException("interrupted while connecting to " + cfg.qmpSocket(), e);
            }
            QmpClient owned = client;
            cleanup.push("close QMP connection", owned::close);
        }
        return new QemuCalls(client, cfg.commandTimeout());
    }

    private void listen(QmpClient client) throws Exception {
        // A closed connection is noticed by checkAbort within a poll interval (no callback on the client's close
        // future: on a shared, long-lived client it would keep every finished session, archive buffers included,
        // reachable).
        this.client = client;
        AutoCloseable l = client.addListener(inbox::offer);
        cleanup.push("remove QMP event listener", l::close);
    }

    private void checkRequirements(QemuCalls q) {
        QmpSchema schema;
        try {
            schema = q.client().schema().get(cfg.commandTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw QemuCalls.translate("query-qmp-schema", e.getCause());
        } catch (TimeoutException | InterruptedException e) {
            throw new BackupException("QEMU did not answer query-qmp-schema", e);
        }
        List<String> missing = schema.check(BackupRequirements.of(cfg.vmstate()));
        if (!missing.isEmpty()) {
            throw new BackupException("this QEMU cannot do a " + (cfg.vmstate() ? "backup with VM state" : "backup")
                    + ": " + String.join("; ", missing));
        }
    }

    private ArchiveLayout layout(QemuCalls q, List<SourceDisk> disks, Instant started) {
        long memory = q.call("query-memory-size-summary", null).require("base-memory").asLong();
        List<ArchiveDisk> archiveDisks = new ArrayList<>();
        List<VmDescription.Disk> described = new ArrayList<>();
        for (SourceDisk d : disks) {
            archiveDisks.add(new ArchiveDisk(d.archiveName(), d.size()));
            described.add(new VmDescription.Disk(d.archiveName(), d.device(), d.node(), d.qdev(), d.size(),
                    d.format(), d.file()));
        }
        List<ConfigBlob> configs = new ArrayList<>(cfg.configs());
        if (cfg.describeVm() && configs.stream().noneMatch(c -> c.name().equals(VmDescription.CONFIG_NAME))) {
            var v = q.client().greeting().version();
            configs.add(new VmDescription(v.major() + "." + v.minor() + "." + v.micro(),
                    v.packageVersion() == null ? "" : v.packageVersion(), machineType(q), memory, cfg.vmstate(),
                    described).toConfigBlob());
        }
        return new ArchiveLayout(UUID.randomUUID(), started, archiveDisks, cfg.vmstate() ? Math.max(1, memory) : 0,
                configs);
    }

    private static String machineType(QemuCalls q) {
        Json t = q.tryCall("qom-get", JsonObject.builder().put("path", "/machine").put("property", "type").build(),
                CLEANUP_TIMEOUT);
        if (t == null) {
            return "";
        }
        String s = t.asString();
        return s.endsWith("-machine") ? s.substring(0, s.length() - "-machine".length()) : s;
    }

    private ArchiveSink openSink(ArchiveLayout layout) {
        try {
            return cfg.target().open(layout);
        } catch (IOException e) {
            throw new BackupException("cannot create the archive: " + e, e);
        }
    }

    /** NBD exports, targets, VM state receiver, capabilities; returns the job ids. */
    private List<String> prepare(QemuCalls q, List<SourceDisk> disks, ArchiveLayout layout, ArchiveSink sink)
            throws Exception {
        PrivateDir dir = PrivateDir.create("vmbackup-" + tag + "-");
        cleanup.push("delete private directory", dir::close);
        ExecutorService sinkExec = sinkExecutor();
        cleanup.push("stop archive writer threads", sinkExec::shutdownNow);

        Path nbdSocket = dir.resolve("nbd.sock");
        NbdServer.Builder nb = NbdServer.builder().unixSocket(nbdSocket).maxPendingBytes(32L << 20);
        if (cfg.eventLoop() != null) {
            nb.eventLoop(cfg.eventLoop());
        }
        for (int i = 0; i < disks.size(); i++) {
            ArchiveDisk d = layout.disk(i);
            nb.export(NbdExport.of(d.name(), new ArchiveExportBackend(sink, i, d, sinkExec, tracker.counters(i),
                    guard, staging)));
        }
        NbdServer server = nb.build();
        cleanup.push("close NBD server", () -> server.close().get(CLEANUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        await(server.start(), "starting the NBD server on " + nbdSocket);
        cfg.nbdServerListener().accept(server);

        List<String> jobs = new ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
            String node = targetNode(i);
            jobs.add("vmbk-" + tag + "-j" + i);
            q.call("blockdev-add", JsonObject.builder().put("driver", "nbd").put("node-name", node)
                    .put("server", JsonObject.builder().put("type", "unix").put("path", nbdSocket.toString()).build())
                    .put("export", layout.disk(i).name()).build());
            cleanup.push("blockdev-del " + node, () -> q.tryCall("blockdev-del",
                    JsonObject.builder().put("node-name", node).build(), CLEANUP_TIMEOUT));
        }

        if (cfg.vmstate()) {
            receiver = VmstateReceiver.listen(dir.resolve("vmstate.sock"), sink.vmstateChannel(), tracker::addVmstate,
                    tag, cfg.cbwTimeout());
            cleanup.push("close VM state receiver", receiver::close);
            receiver.completion().whenComplete((v, e) -> inbox.wake());
            MigrationCapabilities caps = MigrationCapabilities.current(q.call("query-migrate-capabilities", null));
            JsonObject forward = caps.forSnapshot();
            if (forward != null) {
                cleanup.push("restore migration capabilities", () -> {
                    JsonObject back = caps.restore();
                    if (back != null) {
                        q.tryCall("migrate-set-capabilities", back, CLEANUP_TIMEOUT);
                    }
                });
                q.call("migrate-set-capabilities", forward);
            }
        }
        return jobs;
    }

    private String targetNode(int i) {
        return "vmbk-" + tag + "-t" + i;
    }

    private ExecutorService sinkExecutor() {
        int n = Math.max(1, cfg.sinkThreads());
        ThreadPoolExecutor ex = new ThreadPoolExecutor(n, n, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(4096),
                r -> {
                    Thread t = new Thread(r, "vmbackup-sink-" + tag + "-" + THREADS.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        ex.allowCoreThreadTimeOut(true);
        return ex;
    }

    private void sinkFailed(BackupException e) {
        // Concurrent writers fail together; an I/O error (disk full...) explains more than the follow-up
        // failures of a writer that is already broken, so it replaces them.
        // Once the session is failing for another reason, archive errors are consequences of the cleanup.
        BackupException old = sinkFailure.get();
        while ((old == null && !failing) || (old != null && !hasIoCause(old) && hasIoCause(e))) {
            if (sinkFailure.compareAndSet(old, e)) {
                log.warn("{}", e.getMessage());
                inbox.wake();
                return;
            }
            old = sinkFailure.get();
        }
    }

    private static boolean hasIoCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    // ---- critical section ----

    private void criticalSection(QemuCalls q, List<SourceDisk> disks, List<String> jobs, boolean wasRunning) {
        cleanup.push("restore the guest's run state", () -> restoreRunState(q, wasRunning));
        cleanup.push("stop early acknowledgements", staging::close);
        staging.open(); // QEMU drains the jobs' first requests inside the pause: acknowledge them at once
        long t0 = System.nanoTime();
        // stop, the transaction and migrate go out together: QEMU runs them in order, and the guest pause then
        // includes no QMP round trip through this process. Should the transaction fail, the snapshot that starts
        // anyway is drained into the void by the cleanup (never cut off: see endMigration).
        cleanup.push("cancel and dismiss backup jobs", () -> finishJobs(q, jobs, abortArchive));
        cleanup.push("end the VM state snapshot", () -> endMigration(q));
        var stopped = wasRunning ? q.send("stop", null) : null;
        // Throttled: a job copying at full speed starves the main loop that must resume the guest.
        var started = q.send("transaction", transaction(disks, jobs, true));
        var migrating = q.send("migrate", JsonObject.builder().put("uri", "unix:" + receiver.socket()).build());
        if (stopped != null) {
            q.await("stop", stopped);
        }
        long t1 = System.nanoTime();
        q.await("transaction", started);
        long t2 = System.nanoTime();
        q.await("migrate", migrating);
        long t3 = System.nanoTime();
        boolean keepsRunState = q.client().greeting().version().atLeast(9, 0);
        if (wasRunning && keepsRunState) {
            resumeAfterSetup(q);
        } else if (wasRunning) {
            awaitResume(q);
        } else if (!keepsRunState && awaitEvent(() -> resumeSeen, cfg.resumeTimeout())
                && q.call("query-status", null).require("running").asBoolean()) {
            q.call("stop", null); // QEMU 7.2 resumes a paused guest after the snapshot's setup: pause it again
        }
        thawGuest(); // the instant is taken: the guest's writers go on while the disks are copied
        staging.close();
        long t4 = System.nanoTime();
        log.debug("critical section: stop {} us, transaction {} us, migrate {} us, until RESUME seen {} us",
                (t1 - t0) / 1000, (t2 - t1) / 1000, (t3 - t2) / 1000, (t4 - t3) / 1000);
        long speed = RateLimiter.share(cfg.bandwidthLimit(), jobs.size());
        for (String job : jobs) {
            try {
                q.call("block-job-set-speed", JsonObject.builder().put("device", job).put("speed", speed).build());
            } catch (BackupException e) {
                pump(Duration.ZERO);
                QmpJobStatus s = jobStatus.get(job);
                if (s != QmpJobStatus.CONCLUDED && s != QmpJobStatus.PENDING && s != QmpJobStatus.WAITING) {
                    throw e;
                }
            }
        }
    }

    // ---- file-system freeze ----

    /** Reaches the guest agent for {@link FsFreeze#REQUIRED} / {@link FsFreeze#TRY}, or says why it cannot. */
    private void openFreeze(QemuCalls q, boolean wasRunning) {
        if (cfg.fsFreeze() == FsFreeze.OFF) {
            return;
        }
        String unavailable;
        if (!wasRunning) {
            unavailable = "the guest is paused, so its agent cannot freeze anything";
        } else {
            Duration limit = cfg.commandTimeout().compareTo(AGENT_TIMEOUT) < 0 ? cfg.commandTimeout() : AGENT_TIMEOUT;
            GuestAgentLink.Outcome link = GuestAgentLink.open(q.client(), cfg.guestAgentSocket(), limit);
            unavailable = link.unavailable();
            if (link.client() != null) {
                var agent = link.client();
                cleanup.push("close the guest agent connection", agent::close);
                // asked, not assumed from the connection's state: its close may not have been noticed yet
                GuestFreeze f = new GuestFreeze(GuestFreeze.of(agent), cfg.freezeTimeout(), limit,
                        () -> q.tryCall("query-status", null, limit) != null);
                cleanup.push("stop the freeze watchdog", f::close);
                freeze = f;
                return;
            }
        }
        if (cfg.fsFreeze() == FsFreeze.REQUIRED) {
            throw new BackupException("cannot freeze the guest's file systems: " + unavailable
                    + "; nothing was done to the guest");
        }
        log.warn("not freezing the guest's file systems: {}; the backup is crash-consistent", unavailable);
        freezeNote = unavailable;
    }

    /** Freezes the guest's file systems right before the instant; the thaw is on the cleanup stack first. */
    private void freezeGuest() {
        if (freeze == null) {
            return;
        }
        GuestFreeze f = freeze;
        cleanup.push("thaw the guest's file systems", f::thaw); // runs after the guest's run state is restored
        try {
            f.freeze();
            freezeHeld = true;
        } catch (BackupException e) {
            if (cfg.fsFreeze() == FsFreeze.REQUIRED || cancelled || Thread.currentThread().isInterrupted()) {
                throw e;
            }
            f.thaw(); // a freeze that timed out may still have happened in the guest
            log.warn("{}; the backup is crash-consistent", e.getMessage());
            freezeNote = e.getMessage();
        }
        checkAbort();
    }

    /** Thaws right after the instant (the guest runs again); fails a REQUIRED freeze that did not hold. */
    private void thawGuest() {
        if (freeze == null) {
            return;
        }
        freeze.thaw();
        if (freezeHeld && freeze.watchdogFired()) {
            freezeHeld = false;
            String why = "the file-system freeze outlived its bound of " + cfg.freezeTimeout()
                    + " before the backup's instant was taken: the watchdog thawed the guest";
            if (cfg.fsFreeze() == FsFreeze.REQUIRED) {
                throw new BackupException(why);
            }
            log.warn("{}; the backup is crash-consistent", why);
            freezeNote = why;
        }
    }

    private FsFreezeResult freezeResult() {
        if (cfg.fsFreeze() == FsFreeze.OFF) {
            return FsFreezeResult.off();
        }
        if (freeze == null) {
            return new FsFreezeResult(cfg.fsFreeze(), false, 0, Duration.ZERO, freezeNote, "");
        }
        return new FsFreezeResult(cfg.fsFreeze(), freezeHeld, freezeHeld ? freeze.frozenFileSystems() : 0,
                freeze.window(), freezeNote, freeze.thawFailure());
    }

    private JsonObject transaction(List<SourceDisk> disks, List<String> jobs, boolean throttled) {
        List<Json> actions = new ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
            JsonObject.Builder data = JsonObject.builder().put("job-id", jobs.get(i)).put("device", disks.get(i).node())
                    .put("target", targetNode(i)).put("sync", "full").put("auto-finalize", true)
                    .put("auto-dismiss", false);
            if (throttled) {
                data.put("speed", 1L);
            } else if (cfg.bandwidthLimit() > 0) {
                // disks only: no pause after which to set the jobs' speed, so they start at their share
                data.put("speed", RateLimiter.share(cfg.bandwidthLimit(), jobs.size()));
            }
            actions.add(JsonObject.builder().put("type", "blockdev-backup").put("data", data.build()).build());
        }
        return JsonObject.builder().put("actions", new JsonArray(actions))
                .put("properties", JsonObject.builder().put("completion-mode", "grouped").build()).build();
    }

    /**
     * QEMU >= 9.0 restores the run state the snapshot found (paused: we stopped the guest), so we resume it, but
     * only once RAM is write-protected: the snapshot thread sends RAM pages only after it has captured the device
     * state, armed write tracking and scheduled its own run-state restore (a bottom half that would run before any
     * later command of ours). A {@code cont} before that would let the guest run between the disks' instant and
     * the RAM's.
     */
    private void resumeAfterSetup(QemuCalls q) {
        long deadline = System.nanoTime() + cfg.commandTimeout().toNanos();
        while (true) {
            Json info = q.call("query-migrate", null);
            String status = info.opt("status").map(Json::asString).orElse("none");
            Json ram = info.opt("ram").orElse(null);
            long pages = ram == null ? 0 : ram.opt("normal").map(Json::asLong).orElse(0L)
                    + ram.opt("duplicate").map(Json::asLong).orElse(0L);
            if (pages > 0 || !status.equals("setup") && !status.equals("active")) {
                break; // tracking armed (or the snapshot ended: the guest must run either way)
            }
            if (System.nanoTime() > deadline) {
                break;
            }
            pump(Duration.ofMillis(5));
            checkAbort();
        }
        if (!q.call("query-status", null).require("running").asBoolean()) {
            q.call("cont", null);
        }
        awaitEvent(() -> resumeAt != null, cfg.resumeTimeout());
    }

    private void awaitResume(QemuCalls q) {
        if (!awaitEvent(() -> resumeAt != null, cfg.resumeTimeout())) {
            // QEMU >= 9.0 restores the previous run state (paused) after a background snapshot's setup.
            if (!q.call("query-status", null).require("running").asBoolean()) {
                log.debug("no RESUME within {}: sending cont", cfg.resumeTimeout());
                q.call("cont", null);
            }
            awaitEvent(() -> resumeAt != null, cfg.resumeTimeout());
        }
    }

    private boolean awaitEvent(java.util.function.BooleanSupplier done, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!done.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            pump(Duration.ofNanos(Math.min(left, 50_000_000L)));
            checkAbort();
        }
        return true;
    }

    // ---- copy ----

    private long copy(QemuCalls q, List<String> jobs) {
        Set<String> open = new HashSet<>(jobs);
        long nextProgress = System.nanoTime() + cfg.progressInterval().toNanos();
        while (true) {
            checkAbort();
            for (String job : List.copyOf(open)) {
                if (jobStatus.get(job) == QmpJobStatus.CONCLUDED) {
                    String error = jobError(q, job);
                    int disk = jobs.indexOf(job);
                    if (error != null) {
                        throw jobFailure(q, jobs);
                    }
                    open.remove(job);
                    tracker.markFinished(disk);
                    progress(BackupPhase.COPYING);
                }
            }
            boolean vmstateDone = !cfg.vmstate()
                    || ("completed".equals(migrationStatus) && receiver.completion().isDone());
            if (open.isEmpty() && vmstateDone) {
                break;
            }
            if (System.nanoTime() >= nextProgress) {
                progress(BackupPhase.COPYING);
                nextProgress = System.nanoTime() + cfg.progressInterval().toNanos();
            }
            pump(cfg.progressInterval());
        }
        if (!cfg.vmstate()) {
            return 0;
        }
        long n = receiver.completion().join();
        tracker.markVmstateFinished();
        return n;
    }

    /**
     * The failure of a group of jobs: one failing job cancels the others ("Operation canceled"), so name the
     * one that failed first of its own, once all concluded.
     */
    private BackupException jobFailure(QemuCalls q, List<String> jobs) {
        checkAbort(); // an archive failure explains the job failure better than QEMU's message
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        Map<String, String> errors = new HashMap<>();
        while (true) {
            boolean all = true;
            for (Json j : q.call("query-jobs", null).elements()) {
                String id = j.require("id").asString();
                if (jobs.contains(id)) {
                    all &= "concluded".equals(j.require("status").asString());
                    j.opt("error").ifPresent(e -> errors.put(id, e.asString()));
                }
            }
            if (all || System.nanoTime() > deadline) {
                break;
            }
            pump(Duration.ofMillis(50));
        }
        List<String> names = tracker.snapshot(BackupPhase.COPYING).disks().stream().map(d -> d.name()).toList();
        String chosen = null;
        for (String id : jobs) {
            String e = errors.get(id);
            if (e != null && (chosen == null || errors.get(chosen).equals("Operation canceled"))) {
                chosen = id;
            }
        }
        return new BackupException("backup job of disk " + names.get(jobs.indexOf(chosen)) + " failed: "
                + errors.get(chosen));
    }

    private static String jobError(QemuCalls q, String job) {
        for (Json j : q.call("query-jobs", null).elements()) {
            if (job.equals(j.require("id").asString())) {
                return j.opt("error").map(Json::asString).orElse(null);
            }
        }
        return null;
    }

    // ---- events and failures ----

    /** Handles every inbox item that arrives within {@code wait} (at least the ones already there). */
    private void pump(Duration wait) {
        try {
            Object item = inbox.poll(wait);
            while (item != null) {
                handle(item);
                item = inbox.poll(Duration.ZERO);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted", e);
        }
    }

    private void handle(Object item) {
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
        if (inbox.overflowed()) {
            throw new BackupException("QEMU sent more events than the session can queue");
        }
        if ("failed".equals(migrationStatus) || "cancelled".equals(migrationStatus)) {
            throw new BackupException("the VM state snapshot (background-snapshot migration) " + migrationStatus);
        }
        if (receiver != null && receiver.completion().isCompletedExceptionally()) {
            try {
                receiver.completion().join();
            } catch (RuntimeException e) {
                throw asBackup(e.getCause() != null ? e.getCause() : e);
            }
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

    private static <T> T await(java.util.concurrent.CompletableFuture<T> f, String what) throws Exception {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new BackupException(what + " failed: " + e.getCause().getMessage(), e.getCause());
        }
    }

    // ---- cleanup steps ----

    /**
     * Cancels our jobs that did not conclude, waits for them, dismisses them all. A job that does not conclude
     * within a few seconds is waiting on the archive: {@code stuck} aborts it so the requests fail.
     */
    private static void finishJobs(QemuCalls q, List<String> jobs, Runnable stuck) throws InterruptedException {
        Map<String, String> status = ourJobs(q, jobs);
        if (status == null) {
            return;
        }
        for (Map.Entry<String, String> e : status.entrySet()) {
            if (!e.getValue().equals("concluded") && !e.getValue().equals("aborting")) {
                q.tryCall("job-cancel", JsonObject.builder().put("id", e.getKey()).build(), CLEANUP_TIMEOUT);
            }
        }
        long start = System.nanoTime();
        boolean aborted = false;
        while (status != null && !status.values().stream().allMatch("concluded"::equals)
                && System.nanoTime() - start < 2 * CLEANUP_TIMEOUT.toNanos()) {
            if (!aborted && System.nanoTime() - start > Duration.ofSeconds(3).toNanos()) {
                log.info("backup jobs still running 3 s after cancel: discarding the archive to release them");
                stuck.run();
                aborted = true;
            }
            Thread.sleep(50);
            status = ourJobs(q, jobs);
        }
        if (status == null) {
            return;
        }
        for (String id : status.keySet()) {
            q.tryCall("job-dismiss", JsonObject.builder().put("id", id).build(), CLEANUP_TIMEOUT);
        }
    }

    private static Map<String, String> ourJobs(QemuCalls q, List<String> jobs) {
        Json all = q.tryCall("query-jobs", null, CLEANUP_TIMEOUT);
        if (all == null) {
            return null;
        }
        Map<String, String> out = new HashMap<>();
        for (Json j : all.elements()) {
            String id = j.require("id").asString();
            if (jobs.contains(id)) {
                out.put(id, j.require("status").asString());
            }
        }
        return out;
    }

    /**
     * Ends an unfinished snapshot by letting it finish into the void: the receiver drops the rest of the stream.
     * Cutting a background snapshot off (closing its socket, migrate_cancel) leaves QEMU 7.2 with guest RAM still
     * registered for write tracking: the next snapshot is refused or the monitor hangs. Only if the snapshot does
     * not end within a minute is it cut off.
     */
    private void endMigration(QemuCalls q) throws InterruptedException {
        if (receiver == null) {
            return;
        }
        receiver.discard();
        if (waitMigrationSettled(q, Duration.ofSeconds(60))) {
            return;
        }
        log.warn("the VM state snapshot did not end within 60 s: cancelling it");
        receiver.close();
        q.tryCall("migrate_cancel", null, CLEANUP_TIMEOUT);
        waitMigrationSettled(q, Duration.ofSeconds(5));
    }

    private static boolean waitMigrationSettled(QemuCalls q, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            Json m = q.tryCall("query-migrate", null, CLEANUP_TIMEOUT);
            if (m == null) {
                return true; // QEMU gone: nothing to settle
            }
            String st = m.opt("status").map(Json::asString).orElse("none");
            if (st.equals("none") || st.equals("completed") || st.equals("failed") || st.equals("cancelled")) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
    }

    private static void restoreRunState(QemuCalls q, boolean wasRunning) {
        Json st = q.tryCall("query-status", null, CLEANUP_TIMEOUT);
        if (st == null) {
            return;
        }
        boolean running = st.require("running").asBoolean();
        if (wasRunning && !running) {
            log.info("resuming the guest (status {})", st.opt("status").map(Json::asString).orElse("?"));
            q.tryCall("cont", null, CLEANUP_TIMEOUT);
        } else if (!wasRunning && running) {
            q.tryCall("stop", null, CLEANUP_TIMEOUT); // QEMU 7.2 resumes after a snapshot even if it was paused
        }
    }
}
