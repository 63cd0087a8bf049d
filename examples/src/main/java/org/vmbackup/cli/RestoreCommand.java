package org.vmbackup.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.core.LiveRestoreSession;
import org.vmbackup.core.RestoreBuilder;
import org.vmbackup.core.RestoreFormat;
import org.vmbackup.core.RestoreResult;
import org.vmbackup.core.RestoreSession;
import org.vmbackup.core.RestoreVmResult;
import org.vmbackup.core.RestoreVmSession;
import org.vmbackup.core.RestoredDisk;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpClientOptions;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmabackup restore ARCHIVE --to DIR [--format raw|qcow2] [--disk NAME]...}: the disks as image files;
 * {@code vmabackup restore ARCHIVE --qmp SOCKET}: the whole running VM into a QEMU started with
 * {@code -incoming defer}; {@code vmabackup restore ARCHIVE --live DIR --qmp SOCKET}: live restore
 * ({@link RestoreLiveRunner}).
 */
@Command(name = "restore", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Restore disks or a whole running VM from an archive.",
        footer = {"", "Examples:",
            "  vmabackup restore vm.vma.zst --to /var/lib/images",
            "  zstd -dc vm.vma.zst | vmabackup restore - --to out --format qcow2",
            "  qemu-system-x86_64 ... -incoming defer -qmp unix:/run/vm.qmp,server=on,wait=off &",
            "  vmabackup restore vm.vma --qmp /run/vm.qmp --wait 10",
            "  vmabackup restore vm.vma --live /var/lib/images --qmp /run/vm.qmp   (then start QEMU as printed)",
            "  vmabackup restore /backups/vm-dir --to out   (a directory archive: backup ... /backups/vm-dir)",
            "  vmabackup restore /backups/store --snapshot web1/2026-12-06T23:40:00Z --to out   (a chunk store)"})
final class RestoreCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ARCHIVE",
            description = "the archive: a VMA file (.vma, .vma.zst, .vma.gz; - for stdin), a directory archive, or a chunk "
                    + "store with --snapshot")
    String archive;

    @Option(names = "--snapshot", paramLabel = "ID",
            description = "ARCHIVE is a chunk store: restore this snapshot of it (VM/INSTANT, see store list)")
    String snapshot;

    @Option(names = "--key", paramLabel = "FILE", description = "with --snapshot: the key of an encrypted store")
    Path key;

    /** With --snapshot: opens the snapshot of the open store (the store stays open for the whole restore). */
    private SourceOpener snapshotSource;

    /** Opens an archive source. */
    private interface SourceOpener {
        ArchiveSource open() throws IOException;
    }

    @ArgGroup(exclusive = true, multiplicity = "1", heading = "What to restore (exactly one):%n")
    Target target;

    /** Disks into a directory, or the whole VM into a QEMU. */
    static final class Target {
        @Option(names = "--to", paramLabel = "DIR", description = "write each disk as DIR/<device>.<format>")
        Path dir;

        @Option(names = "--qmp", paramLabel = "SOCKET",
                description = "restore disks and running state into the QEMU listening on this QMP socket "
                        + "(started with -incoming defer and the same disks)")
        Path qmp;
    }

    @Option(names = "--format", paramLabel = "raw|qcow2", defaultValue = "raw",
            description = "image format with --to (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--disk", paramLabel = "NAME", description = "only this device (repeatable; with --to)")
    List<String> disks = List.of();

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "with --qmp: where to spool the VM state (default: a temporary directory)")
    Path workDir;

    @Option(names = "--no-cont", description = "with --qmp: leave the guest paused after loading its state")
    boolean noCont;

    @Option(names = "--live", paramLabel = "DIR",
            description = "with --qmp: live restore; create DIR/<device>.qcow2 backed by the archive over NBD, "
                    + "wait for QEMU started on them, resume it at once and copy the data in the background")
    Path liveDir;

    @Option(names = {"--bwlimit", "--rate-limit"}, paramLabel = "RATE", converter = BandwidthConverter.class,
            defaultValue = "0", description = "limit the whole restore to RATE: " + BandwidthConverter.HELP
                    + ". --to: disk data written; --qmp: disk data and the VM state fed "
                    + "to QEMU; --live: the background copy (split between the disks), never what "
                    + "the guest waits for (its VM state, its own reads). --rate-limit is its old name")
    long bwlimit;

    @Option(names = "--wait", paramLabel = "SECONDS",
            description = "how long to wait for QEMU's QMP socket to appear and accept connections (default: 0 with "
                    + "--qmp, a missing or refusing socket fails at once; 600 with --live, which waits for the QEMU "
                    + "you start)")
    Long waitSeconds;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        if (waitSeconds != null) {
            OptionChecks.range(spec, "--wait", waitSeconds, 0, OptionChecks.DAY_SECONDS);
        }
        if (key != null && snapshot == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--key only applies with --snapshot");
        }
        if (snapshot != null) {
            SnapshotId id = new StoreCommand.SnapshotIdConverter().convert(snapshot, spec.commandLine());
            if ("-".equals(archive)) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--snapshot needs the store's directory, not -");
            }
            try (ChunkStore s = StoreLocation.open(archive, key)) {
                snapshotSource = () -> ArchiveSource.snapshot(s, id);
                return dispatch(err);
            }
        }
        return dispatch(err);
    }

    private int dispatch(PrintWriter err) throws Exception {
        if (liveDir != null) {
            if (snapshotSource != null && target.qmp != null) {
                InputPaths.directoryOrCreatable("image directory", liveDir);
                return RestoreFailures.leavingNothing(liveDir, archive, () -> RestoreLiveRunner.run(err,
                        LiveRestoreSession.builder().archive(snapshotSource.open()), "snapshot " + snapshot, liveDir,
                        target.qmp, bwlimit, Duration.ofSeconds(waitSeconds == null ? 600 : waitSeconds)));
            }
            if (target.qmp == null || "-".equals(archive)) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--live needs --qmp SOCKET and an archive file (not -)");
            }
            InputPaths.archiveOrDirectory(Path.of(archive));
            InputPaths.directoryOrCreatable("image directory", liveDir);
            return RestoreFailures.leavingNothing(liveDir, archive, () -> RestoreLiveRunner.run(err,
                    Path.of(archive), liveDir, target.qmp, bwlimit,
                    Duration.ofSeconds(waitSeconds == null ? 600 : waitSeconds)));
        }
        if (!"-".equals(archive) && snapshotSource == null) {
            InputPaths.archiveOrDirectory(Path.of(archive));
        }
        RestoreProgressPrinter printer = new RestoreProgressPrinter(err);
        if (target.dir != null) {
            RestoreFormat f = switch (format) {
                case "raw" -> RestoreFormat.RAW;
                case "qcow2" -> RestoreFormat.QCOW2;
                default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--format must be raw or qcow2, not " + format);
            };
            return RestoreFailures.leavingNothing(target.dir, archive, () -> toDirectory(err, printer, f));
        }
        return RestoreFailures.leavingNothing(workDir, archive, () -> intoQemu(err, printer));
    }

    private int toDirectory(PrintWriter err, RestoreProgressPrinter printer, RestoreFormat f) throws Exception {
        InputPaths.directoryOrCreatable("target directory", target.dir);
        RestoreSession.Builder b = RestoreSession.builder().imageDirectory(target.dir).format(f)
                .disks(new LinkedHashSet<>(disks)).progress(printer).bandwidthLimit(bwlimit);
        RestoreSession session = withArchive(b, b::archive).build();
        RestoreResult r = joinCancellingOnExit(session.start(), session::cancel);
        for (RestoredDisk d : r.disks()) {
            err.printf("Restored %s -> %s (%d bytes)%n", d.name(), d.path(), d.size());
        }
        double secs = Math.max(1e-9, r.duration().toNanos() / 1e9);
        err.printf("Restore complete: %d disk(s), %.1f MiB in %.2f s (%.1f MB/s)%n", r.disks().size(),
                r.totalBytes() / 1048576.0, secs, r.totalBytes() / 1e6 / secs);
        err.flush();
        return ExitCode.OK;
    }

    /**
     * Gives {@code b} the archive: the store's snapshot (--snapshot), stdin ({@code -}, through {@code stdin}: the
     * builder's {@code archive(InputStream)}) or the path.
     */
    private <B extends RestoreBuilder<B>> B withArchive(B b, Function<InputStream, B> stdin) throws IOException {
        if (snapshotSource != null) {
            return b.archive(snapshotSource.open());
        }
        return "-".equals(archive) ? stdin.apply(System.in) : b.archive(Path.of(archive));
    }

    private int intoQemu(PrintWriter err, RestoreProgressPrinter printer) throws Exception {
        if (!disks.isEmpty() || !"raw".equals(format)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--disk and --format only apply with --to");
        }
        if (workDir != null) {
            InputPaths.directoryOrCreatable("work directory", workDir);
        }
        if (snapshotSource != null) {
            snapshotSource.open().close(); // a missing or damaged snapshot is reported before QEMU is touched
        } else if (!"-".equals(archive)) {
            checkOpens(Path.of(archive)); // a bad archive is reported before QEMU is touched
        }
        try (QmpClient client = QmpConnect.connect(target.qmp, Duration.ofSeconds(waitSeconds == null ? 0
                : waitSeconds), QmpClientOptions.DEFAULT_CONNECT_TIMEOUT)) {
            RestoreVmSession.Builder b = RestoreVmSession.builder().qmp(client).resume(!noCont)
                    .progress(printer).bandwidthLimit(bwlimit);
            if (workDir != null) {
                b.workDirectory(workDir);
            }
            RestoreVmSession session = withArchive(b, b::archive).build();
            RestoreVmResult r = joinCancellingOnExit(session.start(), session::cancel);
            for (RestoredDisk d : r.disks()) {
                err.printf("Restored %s -> %s (%d bytes)%n", d.name(), d.path(), d.size());
            }
            err.printf("VM state loaded (%d bytes); guest %s after %d ms%n", r.vmstateBytes(),
                    r.running() ? "running" : "paused", r.duration().toMillis());
        }
        err.flush();
        return ExitCode.OK;
    }

    /** Opens the archive's header (or manifest) once, failing with its message. */
    private static void checkOpens(Path archive) {
        try (ArchiveSource s = ArchiveSource.open(archive)) {
            s.layout();
        } catch (IOException e) {
            String m = e.getMessage() == null ? "" : e.getMessage();
            throw new CliFailure(m.startsWith("archive ") ? "cannot read " + m
                    : "cannot read archive " + archive + ": " + FailureMessages.reason(e), e);
        }
    }

    /**
     * {@link #join} with SIGINT/SIGTERM cancelling the session first, so an interrupted restore leaves no temporary
     * or half-written image behind (and a target QEMU is not resumed).
     */
    static <T> T joinCancellingOnExit(CompletableFuture<T> f, java.util.function.BooleanSupplier cancel)
            throws Exception {
        Thread hook = new Thread(() -> {
            cancel.getAsBoolean();
            try {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                // expected: cancelled
            }
        }, "vmabackup-cancel");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return join(f);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down already
            }
        }
    }

    /** Waits and rethrows the real cause, so the failure handler prints its message (not a wrapper's). */
    static <T> T join(CompletableFuture<T> f) throws Exception {
        try {
            return f.join();
        } catch (CompletionException e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            if (c instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }
}
