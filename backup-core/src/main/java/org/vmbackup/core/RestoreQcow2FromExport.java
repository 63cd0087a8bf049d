package org.vmbackup.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.vmbackup.core.internal.RestoreNames;
import org.vmbackup.core.internal.RestoreQemuImg;

/**
 * The qcow2 path of {@link RestoreSession} for random-access archives: {@code qemu-img convert} reads our NBD export
 * of the archive, so holes are skipped and no raw copy is needed.
 */
final class RestoreQcow2FromExport {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RestoreQcow2FromExport.class);
    /** Closing the archive's NBD server once qemu-img is done with it. */
    private static final long CLOSE_SECONDS = 30;

    private RestoreQcow2FromExport() {
    }

    /** Serves {@code source} (which the export then owns and closes) and converts each selected disk. */
    static RestoreResult run(ArchiveSource source, List<Integer> selectedDisks, Path targetDir,
            RestoreProgressListener listener, Path qemuImg, long bandwidthLimit, long t0) throws IOException {
        ArchiveLayout layout = source.layout();
        String archive = source.describe();
        Path dir = targetDir.toAbsolutePath().normalize();
        Path sockDir = Files.createTempDirectory("vmabackup-nbd-");
        Path sock = sockDir.resolve("nbd.sock");
        ArchiveExportServer server;
        try {
            server = ArchiveExportServer.builder(source).unixSocket(sock).start().get(10, TimeUnit.MINUTES);
        } catch (Exception e) {
            Files.deleteIfExists(sockDir);
            Throwable c = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new BackupException("cannot serve " + archive + " over NBD: " + c, c);
        }
        List<Path> temps = new ArrayList<>();
        try {
            List<ArchiveDisk> selected = selectedDisks.stream().map(layout::disk).toList();
            List<Path> finals = new ArrayList<>();
            for (ArchiveDisk d : selected) {
                finals.add(RestoreNames.imagePath(dir, d.name(), RestoreFormat.QCOW2.extension()));
            }
            RestoreSession.refuseExisting(finals);
            Files.createDirectories(dir);
            java.util.concurrent.ScheduledExecutorService poller = java.util.concurrent.Executors
                    .newSingleThreadScheduledExecutor(r -> {
                        Thread t = new Thread(r, "vmbackup-restore-progress");
                        t.setDaemon(true);
                        return t;
                    });
            try {
                for (int i = 0; i < selected.size(); i++) {
                    ArchiveDisk d = selected.get(i);
                    Path temp = RestoreNames.tempPath(finals.get(i));
                    temps.add(temp);
                    // qemu-img reads the data runs in order and skips holes: the bytes read are a lower bound of
                    // the progress (the stored data is not known up front without a pass over the disk)
                    var task = poller.scheduleWithFixedDelay(() -> {
                        try {
                            long read = server.server().metrics(d.name()).bytesRead();
                            listener.progress(new RestoreProgress(d.name(), Math.min(d.size(), read), d.size(),
                                    false));
                        } catch (RuntimeException e) {
                            // a failing listener must not stop the restore; the final event still comes
                        }
                    }, 500, 500, java.util.concurrent.TimeUnit.MILLISECONDS);
                    try {
                        RestoreQemuImg.convert(qemuImg, "raw", "nbd+unix:///" + d.name() + "?socket=" + sock, temp,
                                bandwidthLimit);
                    } finally {
                        task.cancel(false);
                    }
                }
            } finally {
                poller.shutdownNow();
            }
            List<RestoredDisk> out = new ArrayList<>();
            for (int i = 0; i < selected.size(); i++) {
                ArchiveDisk d = selected.get(i);
                Files.move(temps.get(i), finals.get(i), StandardCopyOption.ATOMIC_MOVE);
                listener.progress(new RestoreProgress(d.name(), d.size(), d.size(), true));
                out.add(new RestoredDisk(d.name(), finals.get(i), RestoreFormat.QCOW2, d.size(), -1));
            }
            long read = 0;
            for (ArchiveDisk d : selected) {
                read += server.server().metrics(d.name()).bytesRead();
            }
            return new RestoreResult(out, read, Duration.ofNanos(System.nanoTime() - t0));
        } finally {
            for (Path t : temps) {
                Files.deleteIfExists(t);
            }
            try {
                server.close().get(CLOSE_SECONDS, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                log.warn("restore: closing the archive's NBD server: {}", e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Files.deleteIfExists(sock);
            Files.deleteIfExists(sockDir);
        }
    }
}
