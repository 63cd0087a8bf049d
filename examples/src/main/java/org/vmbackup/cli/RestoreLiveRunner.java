package org.vmbackup.cli;

import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.vmbackup.core.LiveRestorePlan;
import org.vmbackup.core.LiveRestoreResult;
import org.vmbackup.core.LiveRestoreRun;
import org.vmbackup.core.LiveRestoreSession;
import org.vmbackup.core.RestoredDisk;

/**
 * {@code vmabackup restore ARCHIVE --live DIR --qmp SOCKET}: prepares the archive-backed images in DIR, prints the
 * QEMU arguments to start the VM with, waits for its QMP socket, then resumes the guest and copies in the background
 * until the images stand alone.
 */
final class RestoreLiveRunner {
    /** Closing the plan after a failure: the archive's NBD server and its connections. */
    private static final long CLOSE_SECONDS = 30;

    private RestoreLiveRunner() {
    }

    static int run(PrintWriter err, Path archive, Path imageDir, Path qmp, long bwlimit, Duration waitForQemu)
            throws Exception {
        return run(err, LiveRestoreSession.builder().archive(archive), archive.toString(), imageDir, qmp, bwlimit,
                waitForQemu);
    }

    /** The same, for an archive already given to {@code builder} ({@code what} names it). */
    static int run(PrintWriter err, LiveRestoreSession.Builder builder, String what, Path imageDir, Path qmp,
            long bwlimit, Duration waitForQemu) throws Exception {
        LiveRestorePlan plan = RestoreCommand.join(builder
                .imageDirectory(imageDir).bandwidthLimit(bwlimit).progress(new RestoreProgressPrinter(err)).build()
                .prepare());
        err.printf("Serving %s over NBD on %s%n", what, plan.nbdSocket());
        err.printf("Start QEMU with: %s%s -qmp unix:%s,server=on,wait=off%n", String.join(" ", plan.driveArgs()),
                plan.hasVmstate() ? " -incoming defer" : "", qmp);
        err.flush();
        try {
            waitFor(qmp, waitForQemu, plan.archiveIndexed());
        } catch (Exception e) {
            try {
                plan.close().get(CLOSE_SECONDS, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException closing) {
                e.addSuppressed(closing); // the failure to report is e
            }
            // A bad archive, or no QEMU: the images are backed by the export just closed, so they are useless, and
            // a new attempt must not find them in the way.
            for (Path image : plan.images().values()) {
                java.nio.file.Files.deleteIfExists(image);
            }
            throw e;
        }
        LiveRestoreRun run = RestoreCommand.join(plan.start(qmp));
        err.printf("Guest running after %d ms; copying in the background%n", run.timeToRunning().toMillis());
        err.flush();
        LiveRestoreResult r = RestoreCommand.join(run.completion());
        for (RestoredDisk d : r.disks()) {
            err.printf("Restored %s -> %s (%d bytes)%n", d.name(), d.path(), d.size());
        }
        err.printf("Live restore complete after %.2f s; the archive is released%n", r.duration().toMillis() / 1000.0);
        err.flush();
        return ExitCode.OK;
    }

    /**
     * Waits until something accepts connections on {@code socket}; fails at once if the archive's background scan
     * fails meanwhile (a bad archive is reported before QEMU runs on it, when QEMU is slower than the scan).
     */
    private static void waitFor(Path socket, Duration timeout, CompletableFuture<Void> indexed) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (indexed.isCompletedExceptionally()) {
                RestoreCommand.join(indexed);
            }
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(socket));
                return;
            } catch (java.io.IOException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new org.vmbackup.core.BackupException("no QEMU listening on " + socket + " after "
                            + timeout.toSeconds() + " s");
                }
                Thread.sleep(10); // QEMU is being started now: notice its socket at once
            }
        }
    }
}
