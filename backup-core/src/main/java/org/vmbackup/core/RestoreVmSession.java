package org.vmbackup.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.CancelSignal;
import org.vmbackup.core.internal.RateLimiter;
import org.vmbackup.core.internal.RestoreDiskMatch;
import org.vmbackup.core.internal.RestoreMigrationFeeder;
import org.vmbackup.core.internal.RestoreProgressReporter;
import org.vmbackup.core.internal.RestoreVmDiskWriter;
import org.vmbackup.core.internal.RestoreVmstateSpool;
import org.vmbackup.core.internal.RestoredGuestThaw;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpEvent;
import org.vmbackup.qmp.QmpEventSubscription;
import org.vmbackup.qmp.command.MachineCommands;
import org.vmbackup.qmp.command.MigrationCommands;
import org.vmbackup.qmp.command.QueryCommands;

/**
 * Restores a whole running VM from an archive with a VM state ({@link ArchiveSource}: VMA file or stream, directory
 * archive) into a QEMU started with
 * {@code -incoming defer} and the same disks (raw or qcow2 image files, named like the archive's
 * {@code drive-<device>} disks, of the same sizes). Devices are checked first: a QEMU that does not match is refused before anything is
 * written. Then, in one sequential pass over the archive (compressed archives and stdin work), raw disk images are
 * rewritten in place (QEMU has not activated them yet), qcow2 ones receive the disk through a raw copy in the work
 * directory and {@code qemu-img convert -n}; a sequential archive's migration stream is spooled to a private file
 * meanwhile (a random-access one gives it directly, {@link ArchiveSource#vmstate()}); the stream is fed with {@code migrate-incoming unix:...}, and after MIGRATION {@code completed} the guest is resumed
 * with {@code cont}: it continues at the instant of the backup. A {@linkplain Builder#bandwidthLimit bandwidth
 * limit} holds the disk writes and the migration stream to one total rate.
 *
 * <pre>{@code
 * RestoreVmResult r = RestoreVmSession.builder().archive(archive).qmpSocket(sock).build().start().join();
 * }</pre>
 */
public final class RestoreVmSession {
    private static final Logger log = LoggerFactory.getLogger(RestoreVmSession.class);

    private final RestoreInputs in;
    private final QmpClient client;
    private final Path qmpSocket;
    private final Path workDir;
    private final boolean resume;
    private final Duration migrationTimeout;
    private final Path qemuImg;
    private final CancelSignal cancel = new CancelSignal("restore of the running state");
    private final AtomicBoolean started = new AtomicBoolean();

    private RestoreVmSession(Builder b, RestoreInputs in) {
        this.in = in;
        this.client = b.client;
        this.qmpSocket = b.qmpSocket;
        this.workDir = b.workDir;
        this.resume = b.resume;
        this.migrationTimeout = b.migrationTimeout;
        this.qemuImg = b.qemuImg;
    }

    /** A builder; an archive and a QMP connection (client or socket) are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Runs the restore on the executor; once per session.
     *
     * @return completes with the result, or exceptionally with a {@link BackupException} (QEMU not waiting for an
     *     incoming migration, devices not matching, migration failed), an {@link UncheckedIOException} (a bad
     *     archive, naming it and where: the migration is then never started; I/O errors) or a
     *     {@link CancellationException} ({@link #cancel()}; cancelling this future cancels the session too)
     * @throws IllegalStateException if already started
     */
    public CompletableFuture<RestoreVmResult> start() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("restore session already started");
        }
        return cancel.start(in.executor(), this::run);
    }

    /**
     * Cancels the restore at any moment before the guest is resumed; {@link #start()}'s future then completes with a
     * {@link CancellationException} once the session cleaned up (spool and work files removed, its QMP connection
     * closed if it opened it). What QEMU is left with depends on how far the restore got: before the VM state flows
     * QEMU is untouched and still waits for an incoming migration (its disk images hold part of the archive, so
     * restore again before using them); cancelling while the VM state flows breaks the migration stream, and QEMU
     * ends its incoming migration as failed (up to QEMU 9.0 and by default later, it then exits); once the state
     * was sent, the guest is left paused, never resumed. A {@code qemu-img convert} of a qcow2 disk runs to its end
     * first.
     *
     * @return false if too late: the guest was already resumed (or the result delivered)
     */
    public boolean cancel() {
        return cancel.cancel();
    }

    private RestoreVmResult run() throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        // the archive first: a bad one (or one with unsafe names) is refused before QEMU is touched
        try (ArchiveSource source = in.open();
                QmpConnection connection = new QmpConnection(client != null ? client : connect(qmpSocket),
                        client == null)) {
            QmpClient qmp = connection.client();
            cancel.check();
            List<RestoreDiskMatch> matches = checkTarget(qmp, source.layout());
            RestoreProgressReporter progress = new RestoreProgressReporter(
                    matches.stream().map(RestoreDiskMatch::device).toList(), true, in.listener(), System::nanoTime, t0);
            cancel.check();
            Path work = workDir != null ? Files.createDirectories(workDir)
                    : Files.createTempDirectory("vmabackup-restore-");
            // a random-access source gives its VM state as a stream of its own; a sequential one only between (or
            // after) the disk data, so that is spooled while the disks are written
            try (RestoreVmstateSpool spool = source.randomAccess() ? null
                    : RestoreVmstateSpool.create(work.resolve("vmstate.bin"))) {
                RateLimiter limiter = RateLimiter.of(in.bandwidthLimit());
                List<RestoredDisk> disks = RestoreVmDiskWriter.write(source, matches, spool, work, limiter, cancel,
                        qemuImg, in.bandwidthLimit(), progress);
                cancel.check();
                long sent;
                try (ReadableByteChannel vmstate = spool != null ? spool.finish() : source.vmstate()) {
                    sent = migrateIncoming(qmp, work.resolve("migrate.sock"), vmstate, limiter, progress);
                    progress.vmstate(sent, true);
                }
                boolean running = false;
                if (!cancel.finish()) {
                    throw cancel.exception(); // the state is loaded, the guest stays paused
                }
                if (resume) {
                    QueryCommands.StatusInfo st = awaitOrCancel(qmp.execute(new QueryCommands.QueryStatus()),
                            "query-status");
                    if (!st.running()) {
                        awaitOrCancel(qmp.execute(new MachineCommands.Cont()), "cont");
                    }
                    running = true;
                    if (RestoredGuestThaw.savedFrozen(source)) {
                        RestoredGuestThaw.thaw(qmp); // the archive holds a guest frozen for its backup
                    }
                }
                Duration took = Duration.ofNanos(System.nanoTime() - t0);
                log.info("restored VM: {} disk(s), {} bytes of VM state, {} ms", disks.size(), sent, took.toMillis());
                return new RestoreVmResult(disks, sent, running, took);
            } finally {
                // QEMU's listening socket stays behind as a file, in a given work directory too
                try {
                    Files.deleteIfExists(work.resolve("migrate.sock"));
                    if (workDir == null) {
                        Files.deleteIfExists(work);
                    }
                } catch (IOException e) {
                    log.warn("could not clean the work directory {}: {}", work, e.toString());
                }
            }
        }
    }

    /** The QMP client of a run, closed at its end if the run opened it. */
    private record QmpConnection(QmpClient client, boolean owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                client.close();
            }
        }
    }

    /** Everything that can be checked before writing: QEMU's state, the devices, the image files. */
    private List<RestoreDiskMatch> checkTarget(QmpClient qmp, ArchiveLayout layout)
            throws InterruptedException {
        // raw images are rewritten in place; qcow2 ones get a raw copy in the work directory, then
        // qemu-img convert -n into them (QEMU re-reads the metadata when it activates the disks)
        if (!layout.hasVmstate()) {
            throw new BackupException("the archive has no vmstate device (a disk-only backup): restore its disks "
                    + "with --to DIR instead");
        }
        QueryCommands.StatusInfo st = awaitOrCancel(qmp.execute(new QueryCommands.QueryStatus()), "query-status");
        if (!"inmigrate".equals(st.status())) {
            throw new BackupException("the target QEMU is '" + st.status() + "', not waiting for an incoming "
                    + "migration: start it with -incoming defer");
        }
        List<QueryCommands.BlockInfo> blocks = awaitOrCancel(qmp.execute(new QueryCommands.QueryBlock()),
                "query-block");
        List<RestoreDiskMatch> matches = RestoreDiskMatch.match(layout.disks(), blocks);
        for (RestoreDiskMatch m : matches) {
            if (!("raw".equals(m.driver()) || "qcow2".equals(m.driver())) || m.file() == null
                    || !Files.isRegularFile(Path.of(m.file()))) {
                throw new BackupException("QEMU disk " + m.qemuDevice() + " is not a raw or qcow2 image file (driver "
                        + m.driver() + ", file " + m.file() + "): only image files can be rewritten before the start");
            }
        }
        return matches;
    }

    private long migrateIncoming(QmpClient qmp, Path socket, ReadableByteChannel vmstate, RateLimiter limiter,
            RestoreProgressReporter progress) throws IOException, InterruptedException {
        try (QmpEventSubscription events = qmp.subscribe(e -> e instanceof QmpEvent.Migration)) {
            awaitOrCancel(qmp.execute(MigrationCommands.MigrateSetCapabilities.of(
                    new MigrationCommands.Capability("events", true))), "migrate-set-capabilities");
            awaitOrCancel(qmp.execute(new MigrationCommands.MigrateIncoming("unix:" + socket)), "migrate-incoming");
            long sent = RestoreMigrationFeeder.feed(socket, vmstate, limiter, cancel, n -> progress.vmstate(n, false));
            cancel.check();
            QmpEvent.Migration end = awaitOrCancel(events.await(QmpEvent.Migration.class,
                    m -> m.status().equals("completed") || m.status().equals("failed"), migrationTimeout),
                    "the incoming migration to finish");
            if (end.status().equals("failed")) {
                throw new BackupException("QEMU failed to load the archive's VM state (" + sent + " bytes sent)");
            }
            return sent;
        }
    }

    /** Connects to QEMU; the client's own message already names the socket and why it failed. */
    private static QmpClient connect(Path socket) throws InterruptedException {
        try {
            // connect is bounded by its connectTimeout; this bound only guards against a lost completion
            return QmpClient.connect(socket).get(1, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            throw new BackupException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new BackupException("timed out connecting to QMP socket " + socket, e);
        }
    }

    /** {@link #await} ended at once by a cancel. */
    private <T> T awaitOrCancel(CompletableFuture<T> f, String what) throws InterruptedException {
        try (CancelSignal.Registration r = cancel.onCancel(() -> f.completeExceptionally(cancel.exception()))) {
            return await(f, what);
        }
    }

    static <T> T await(CompletableFuture<T> f, String what) throws InterruptedException {
        try {
            return f.get(10, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r && !(c instanceof CompletionException)) {
                throw new BackupException(what + " failed: " + r.getMessage(), r);
            }
            throw new BackupException(what + " failed: " + c, c);
        } catch (TimeoutException e) {
            throw new BackupException("timed out " + what, e);
        }
    }

    /**
     * Options of a full VM-state restore; the archive, progress (of the disk writes), executor and bandwidth limit
     * are {@link RestoreBuilder}'s.
     */
    public static final class Builder extends RestoreBuilder<Builder> {
        private QmpClient client;
        private Path qmpSocket;
        private Path workDir;
        private boolean resume = true;
        private Duration migrationTimeout = Duration.ofMinutes(30);
        private Path qemuImg = Path.of("qemu-img");

        private Builder() {
            super("restore-vm");
        }

        /**
         * Limits the restore to {@code bytesPerSecond} in total (default 0: unlimited): one token bucket shared by
         * the disk data written (zero blocks are holes and cost nothing) and the migration stream fed to QEMU; a
         * qcow2 target disk's {@code qemu-img convert -n} step runs with {@code -r} at the same rate. The guest is
         * paused (still loading) throughout, so the limit makes the time until it runs longer, never its pauses.
         *
         * @throws IllegalArgumentException if negative
         */
        @Override
        public Builder bandwidthLimit(long bytesPerSecond) {
            return super.bandwidthLimit(bytesPerSecond);
        }

        /** The {@code qemu-img} program, used for qcow2 target disks (default {@code qemu-img} on PATH). */
        public Builder qemuImg(Path program) {
            this.qemuImg = Objects.requireNonNull(program, "program");
            return this;
        }

        /**
         * The archive: a VMA file (plain, zstd or gzip) or a directory archive, recognised by content
         * ({@link ArchiveSource#open}).
         */
        @Override
        public Builder archive(Path archive) {
            return super.archive(archive);
        }

        /** A VMA archive as a stream, e.g. stdin (plain, zstd or gzip); closed when the restore ends. */
        public Builder archive(InputStream archive) {
            return archiveStream(archive);
        }

        /** An open QMP connection to the target QEMU (not closed by the session). */
        public Builder qmp(QmpClient client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * The target QEMU's QMP unix socket (the session connects and disconnects). A missing or refusing socket
         * fails at once; to wait for a QEMU still starting, pass {@link #qmp} a client connected with retries.
         */
        public Builder qmpSocket(Path socket) {
            this.qmpSocket = Objects.requireNonNull(socket, "socket");
            return this;
        }

        /**
         * A directory for the VM state spool file and the migration socket (default: a fresh temporary directory;
         * the spool needs about the guest's RAM size in free space).
         */
        public Builder workDirectory(Path dir) {
            this.workDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** Whether to {@code cont} the guest once the state is loaded (default true). */
        public Builder resume(boolean resume) {
            this.resume = resume;
            return this;
        }

        /** How long QEMU may take to load the VM state after it was sent (default 30 min). */
        public Builder migrationTimeout(Duration timeout) {
            this.migrationTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** Checks the options and builds the session. */
        public RestoreVmSession build() {
            RestoreInputs in = inputs();
            if (client == null && qmpSocket == null) {
                throw new IllegalStateException("no QMP connection given");
            }
            return new RestoreVmSession(this, in);
        }
    }
}
