package org.vmbackup.core;

import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.vmbackup.core.internal.BackupRun;
import org.vmbackup.core.vma.VmaArchiveSink;
import org.vmbackup.nbd.NbdEventLoop;
import org.vmbackup.qmp.QmpClient;

/**
 * A consistent live backup of a running QEMU VM (its disks and, by default, its RAM and device state at one
 * instant) into an archive, done outside QEMU: QEMU's backup jobs write to NBD exports served by this JVM, a
 * background-snapshot migration streams the VM state to a unix socket this JVM listens on, and both go
 * straight into an {@link ArchiveSink}.
 *
 * <pre>{@code
 * BackupResult r = BackupSession.builder()
 *         .qmpSocket(Path.of("/run/vm1/qmp.sock"))
 *         .target(Path.of("/backup/vm1.vma.zst"))
 *         .progress(p -> System.out.println(p.doneBytes() + "/" + p.totalBytes()))
 *         .build().start().join();
 * }</pre>
 *
 * <p>The guest pause covers only stop, one transaction and the migration setup (tens of milliseconds); without
 * the VM state there is no pause at all. Whatever fails, the guest is resumed, QEMU is left without any job,
 * node or capability of the session, and nothing appears under the archive's final name. Several sessions (for
 * different VMs) may run at once in one JVM, sharing one {@link NbdEventLoop}.
 *
 * <p>The guest comes first: an archive that fails, fills up or stalls never fails a guest write, nor holds one
 * (QEMU's copy-before-write waits for the archive) longer than {@link Builder#cbwTimeout}; the backup fails
 * instead, naming the disk.
 *
 * <p>A guest that is paused when the session starts is not stopped again and is left paused (QEMU 7.2 resumes
 * it by itself once the snapshot's setup is done; the session pauses it again right away).
 *
 * <p>With {@link Builder#fsFreeze} the guest agent freezes the guest's file systems right before the pause and
 * thaws them right after it (an application-consistent archive); the guest is never left frozen, whatever fails.
 */
public final class BackupSession {
    /**
     * The default {@link Builder#cbwTimeout}, in seconds: a third of the 30 s default request timeout of Linux's
     * block layer and SCSI disks, after which a guest starts aborting and resetting its requests, so a guest never
     * reaches its own error handling because of the archive; yet long enough that a healthy archive's hiccup
     * (a GC pause, an NFS or SMB reconnect, a compressor falling behind for a moment) does not fail the backup.
     */
    public static final long DEFAULT_CBW_TIMEOUT_SECONDS = 10;
    private static final Duration DEFAULT_CBW_TIMEOUT = Duration.ofSeconds(DEFAULT_CBW_TIMEOUT_SECONDS);
    /**
     * The default {@link Builder#freezeTimeout}, in seconds: far above a freeze's normal length (the guest's
     * flush, then the guest pause: about a second even under TCG), yet well below the 120 s after which Linux
     * reports writers blocked on a frozen file system as hung tasks.
     */
    public static final long DEFAULT_FREEZE_TIMEOUT_SECONDS = 30;
    private static final Duration DEFAULT_FREEZE_TIMEOUT = Duration.ofSeconds(DEFAULT_FREEZE_TIMEOUT_SECONDS);
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final BackupRun run;
    private final Executor executor;
    private final AtomicBoolean started = new AtomicBoolean();
    private final CompletableFuture<BackupResult> result = new CompletableFuture<>();

    private BackupSession(BackupRun.Config cfg, Executor executor) {
        this.run = new BackupRun(cfg);
        this.executor = executor;
    }

    /** A builder; a QMP connection or socket and a target are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the backup on its own thread.
     *
     * @return completes with the result, or exceptionally with a {@link BackupException} naming the cause;
     *     cancelling it is the same as {@link #cancel()}
     * @throws IllegalStateException if called twice
     */
    public CompletableFuture<BackupResult> start() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("a backup session can only be started once");
        }
        Runnable body = () -> {
            try {
                result.complete(run.run());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        };
        if (executor == null) {
            Thread t = new Thread(body, "vmbackup-session-" + COUNTER.incrementAndGet());
            t.setDaemon(true);
            t.start();
        } else {
            try {
                executor.execute(body);
            } catch (RejectedExecutionException e) {
                // nothing was done to QEMU yet
                result.completeExceptionally(new BackupException("the backup could not start: its executor refused "
                        + "the session (" + (e.getMessage() == null ? "shut down or full" : e.getMessage()) + ")", e));
            }
        }
        // cancelling the returned future cancels the session too
        result.whenComplete((r, e) -> {
            if (e instanceof java.util.concurrent.CancellationException) {
                run.cancel();
            }
        });
        return result;
    }

    /**
     * Stops the backup: jobs are cancelled, the snapshot ended, the archive discarded, the guest keeps running.
     * The future from {@link #start()} then fails with a {@link BackupException} saying it was cancelled.
     */
    public void cancel() {
        run.cancel();
    }

    /** The latest progress snapshot (the phase is {@link BackupPhase#PREPARING} before the disks are known). */
    public BackupProgress progress() {
        return run.progress();
    }

    /** Options of a backup session. Not thread-safe. */
    public static final class Builder {
        private QmpClient client;
        private Path qmpSocket;
        private final List<String> disks = new ArrayList<>();
        private boolean vmstate = true;
        private ArchiveTarget target;
        private final List<ConfigBlob> configs = new ArrayList<>();
        private boolean describeVm = true;
        private BackupProgressListener listener = BackupProgressListener.NONE;
        private NbdEventLoop eventLoop;
        private Duration commandTimeout = Duration.ofSeconds(30);
        private Duration resumeTimeout = Duration.ofSeconds(2);
        private Duration progressInterval = Duration.ofMillis(500);
        private int sinkThreads = 4;
        private Duration cbwTimeout = DEFAULT_CBW_TIMEOUT;
        private java.util.function.Consumer<org.vmbackup.nbd.NbdServer> nbdServerListener = s -> { };
        private long bandwidthLimit;
        private FsFreeze fsFreeze = FsFreeze.OFF;
        private Path guestAgentSocket;
        private Duration freezeTimeout = DEFAULT_FREEZE_TIMEOUT;
        private Executor executor;

        private Builder() {
        }

        /** An open QMP connection to use (the session does not close it). */
        public Builder qmp(QmpClient client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * The QMP unix socket to connect to (the session opens and closes its own connection). A missing or
         * refusing socket fails the session at once; to wait for a QEMU still starting, pass {@link #qmp} a client
         * connected with {@code QmpClientOptions.builder().retry(true)}.
         */
        public Builder qmpSocket(Path socket) {
            this.qmpSocket = Objects.requireNonNull(socket, "socket");
            return this;
        }

        /**
         * Adds a disk to back up, by QEMU device name (as in {@code query-block}), node name, or archive name
         * ({@code drive-<device>}). Without any, every writable disk is backed up.
         */
        public Builder disk(String name) {
            disks.add(Objects.requireNonNull(name, "name"));
            return this;
        }

        /** Whether to include the VM's RAM and device state (default true). */
        public Builder includeVmstate(boolean include) {
            this.vmstate = include;
            return this;
        }

        /**
         * The archive path: {@code .vma}, {@code .vma.zst} or {@code .vma.gz} for a VMA archive, anything else
         * for a directory archive ({@link DirectoryArchiveSink}). It must not exist.
         */
        public Builder target(Path path) {
            this.target = ArchiveTarget.of(path);
            return this;
        }

        /** An uncompressed VMA stream written to {@code out} (not closed by the session). */
        public Builder target(WritableByteChannel out) {
            Objects.requireNonNull(out, "out");
            this.target = layout -> VmaArchiveSink.open(out, layout);
            return this;
        }

        /** Any archive format. */
        public Builder target(ArchiveTarget target) {
            this.target = Objects.requireNonNull(target, "target");
            return this;
        }

        /** Adds a config blob to embed in the archive. */
        public Builder config(ConfigBlob blob) {
            configs.add(Objects.requireNonNull(blob, "blob"));
            return this;
        }

        /** Whether to embed the {@value VmDescription#CONFIG_NAME} description of the VM (default true). */
        public Builder describeVm(boolean describe) {
            this.describeVm = describe;
            return this;
        }

        /** Receives progress (default: none). */
        public Builder progress(BackupProgressListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** The NBD event loop to share with other sessions (default: a private one). */
        public Builder eventLoop(NbdEventLoop loop) {
            this.eventLoop = Objects.requireNonNull(loop, "loop");
            return this;
        }

        /** The limit of each QMP command (default 30 s). */
        public Builder commandTimeout(Duration timeout) {
            this.commandTimeout = positive(timeout, "commandTimeout");
            return this;
        }

        /** How long to wait for QEMU to resume the guest by itself before sending cont (default 2 s). */
        public Builder resumeTimeout(Duration timeout) {
            this.resumeTimeout = positive(timeout, "resumeTimeout");
            return this;
        }

        /** How often progress is reported while copying (default 500 ms). */
        public Builder progressInterval(Duration interval) {
            this.progressInterval = positive(interval, "progressInterval");
            return this;
        }

        /**
         * The longest a guest write may wait for the archive (default {@value BackupSession#DEFAULT_CBW_TIMEOUT_SECONDS} s).
         * QEMU's copy-before-write holds a guest write to a region not yet backed up until its old data reached
         * the archive; an archive call that fails or takes longer than this is answered with success, the data
         * dropped, and the backup fails naming the disk, so the guest never sees the archive's trouble. A
         * healthy archive must take the backup's pending data (up to 32 MiB per session) within this time.
         */
        public Builder cbwTimeout(Duration timeout) {
            this.cbwTimeout = positive(timeout, "cbwTimeout");
            return this;
        }

        /** Threads running the blocking archive writes (default 4). */
        public Builder sinkThreads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("sinkThreads must be at least 1: " + threads);
            }
            this.sinkThreads = threads;
            return this;
        }

        /**
         * Called with the session's NBD server once it listens, e.g. to read its export metrics. The session
         * owns the server: do not close it.
         */
        public Builder nbdServerListener(java.util.function.Consumer<org.vmbackup.nbd.NbdServer> listener) {
            this.nbdServerListener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Limits the disks' copy to {@code bytesPerSecond} in total (default 0: unlimited), through the speed of
         * QEMU's backup jobs: the total is split evenly between the disks, and a disk that finishes early does not
         * hand its share on. The VM state (RAM) is not limited: in a background snapshot a guest write to RAM not
         * yet saved waits until that page went out, so a throttled stream would stall the guest. The guest pause
         * does not change either: the jobs are held at 1 byte/s through it and get their share only afterwards.
         * A slower copy holds the backup (and its copy-before-write cost to guest disk writes) open for longer, but
         * no guest write waits for the limit: QEMU's copy-before-write copies ignore the job's speed.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder bandwidthLimit(long bytesPerSecond) {
            this.bandwidthLimit = org.vmbackup.core.internal.RateLimiter.checkRate(bytesPerSecond, "bandwidthLimit");
            return this;
        }

        /**
         * Whether to freeze the guest's file systems through the QEMU guest agent around the backup's instant
         * (default {@link FsFreeze#OFF}). The agent is reached and pinged before anything is done to the guest;
         * the freeze comes right before the guest pause, the thaw right after it (the guest's writers wait only
         * through the pause plus a few agent round trips, never through the copy). Whatever fails, the guest is
         * thawed; see {@link #freezeTimeout}. The result's {@link BackupResult#fsFreeze()} tells what happened.
         */
        public Builder fsFreeze(FsFreeze mode) {
            this.fsFreeze = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * The guest agent's unix socket (the host end of the guest's {@code org.qemu.guest_agent.0} port); default:
         * the VM's own, found through QMP (a {@code virtserialport} named {@code org.qemu.guest_agent.0} on a
         * listening unix socket chardev). Used only with {@link #fsFreeze}.
         */
        public Builder guestAgentSocket(Path socket) {
            this.guestAgentSocket = Objects.requireNonNull(socket, "socket");
            return this;
        }

        /**
         * The longest the guest's file systems may stay frozen (default
         * {@value BackupSession#DEFAULT_FREEZE_TIMEOUT_SECONDS} s), from the freeze request on: a watchdog thaws
         * them then, even if the session is stuck, and a backup whose freeze did not hold until its instant fails
         * ({@link FsFreeze#REQUIRED}) or is reported crash-consistent ({@link FsFreeze#TRY}). Also the limit of
         * the agent's freeze (which flushes the guest's dirty data first) and thaw calls.
         */
        public Builder freezeTimeout(Duration timeout) {
            this.freezeTimeout = positive(timeout, "freezeTimeout");
            return this;
        }

        private static Duration positive(Duration d, String what) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " must be positive: " + d);
            }
            return d;
        }

        /**
         * Where the session runs (default: a new daemon thread per session). The session blocks its thread from
         * start to end (QMP calls, waits for QEMU's jobs), so a pool needs a thread per concurrent backup.
         */
        public Builder executor(Executor executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /**
         * A session with these options.
         *
         * @throws IllegalStateException if no QMP connection/socket or no target was given
         */
        public BackupSession build() {
            if (client == null && qmpSocket == null) {
                throw new IllegalStateException("a QMP connection or socket is required");
            }
            if (target == null) {
                throw new IllegalStateException("a target is required");
            }
            return new BackupSession(new BackupRun.Config(client, qmpSocket, List.copyOf(disks), vmstate, target,
                    List.copyOf(configs), describeVm, listener, eventLoop, commandTimeout, resumeTimeout,
                    progressInterval, sinkThreads, nbdServerListener, bandwidthLimit, cbwTimeout, fsFreeze,
                    guestAgentSocket, freezeTimeout), executor);
        }
    }
}
