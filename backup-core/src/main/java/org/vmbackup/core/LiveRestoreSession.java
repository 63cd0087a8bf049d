package org.vmbackup.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.CancelSignal;
import org.vmbackup.core.internal.RestoreNames;
import org.vmbackup.core.internal.ToolProcess;

/**
 * Live restore: the VM runs at once on its archive, served by our NBD server, while its disks are copied into local
 * images in the background.
 *
 * <ol>
 *   <li>{@link #prepare()} opens the archive (random access: an uncompressed VMA file or a directory archive), serves
 *       its disks read-only over NBD ({@link ArchiveExportServer}) on a
 *       private unix socket and creates one local qcow2 image per disk, {@code <dir>/<device>.qcow2}, whose backing
 *       file is the NBD export of that disk: reads of data not yet copied go to the archive, guest writes land
 *       locally.</li>
 *   <li>The caller starts QEMU on those images (disk {@code drive-X} as {@code -drive id=X}), with
 *       {@code -incoming defer} if the archive has a VM state.</li>
 *   <li>{@link LiveRestorePlan#start} loads the VM state if QEMU waits for it, resumes the guest, and starts one
 *       {@code block-stream} job per disk; once all finished, the images stand alone and the archive is
 *       released.</li>
 * </ol>
 *
 * <pre>{@code
 * LiveRestorePlan plan = LiveRestoreSession.builder().archive(vma).imageDirectory(dir).build().prepare().join();
 * // start QEMU with plan.images()
 * LiveRestoreRun run = plan.start(qmpSocket).join();          // the guest runs now
 * LiveRestoreResult done = run.completion().join();          // local disks, archive released
 * }</pre>
 */
public final class LiveRestoreSession {
    private static final Logger log = LoggerFactory.getLogger(LiveRestoreSession.class);
    /** {@code qemu-img create -u} of an overlay only writes a header: well under a second, even when loaded. */
    private static final Duration OVERLAY_TIMEOUT = Duration.ofSeconds(60);
    /** Closing the archive's NBD server after a failed start: its connections and listening socket. */
    private static final long CLOSE_SECONDS = 30;

    private final RestoreInputs in;
    private final Path imageDir;
    private final Path socketDir;
    private final CancelSignal cancel = new CancelSignal("live restore");
    private final AtomicBoolean preparing = new AtomicBoolean();
    private final AtomicReference<LiveRestorePlan> plan = new AtomicReference<>();
    private final Path qemuImg;

    private LiveRestoreSession(Builder b, RestoreInputs in) {
        this.in = in;
        this.imageDir = b.imageDir;
        this.socketDir = b.socketDir;
        this.qemuImg = b.qemuImg;
    }

    /** A builder; an archive and an image directory are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Indexes the archive, starts the NBD export and creates the local images (never overwriting a file).
     *
     * @return the plan to start QEMU with; fails with an {@link UncheckedIOException} naming a missing or bad archive,
     *     or a {@link BackupException} (an archive read in order only, existing images, qemu-img failure)
     */
    public CompletableFuture<LiveRestorePlan> prepare() {
        if (!preparing.compareAndSet(false, true)) {
            throw new IllegalStateException("live restore session already prepared");
        }
        return cancel.start(in.executor(), this::doPrepare);
    }

    /**
     * Cancels the live restore at any moment. During {@link #prepare()}, that then fails with a
     * {@link java.util.concurrent.CancellationException} once the images it created are removed and the archive is
     * no longer served; after it, the plan is discarded the same way (its {@link LiveRestorePlan#start} then fails
     * with that exception). Once {@code start} began, the guest depends on the archive: the background copy is given
     * up as by {@link LiveRestoreRun#cancel()} (the run's completion fails with that exception, the archive is no
     * longer served, and the guest's reads of parts not yet copied fail: discard the VM).
     *
     * @return false if too late (the copy already ended)
     */
    public boolean cancel() {
        boolean cancelled = cancel.cancel();
        LiveRestorePlan p = plan.get();
        if (cancelled && p != null) {
            p.discard();
        } else if (!cancelled && p != null) {
            return p.cancelStarted();
        }
        return cancelled;
    }

    private LiveRestorePlan doPrepare() throws IOException {
        long t0 = System.nanoTime();
        Path dir = imageDir.toAbsolutePath().normalize();
        // The layout (header or manifest) is all the images and the exports need: making the disks ready for random
        // access (for a VMA file, the scan for its index) runs in the background while the images are created, the
        // server starts and QEMU starts; reads wait for it, and LiveRestorePlan.start waits for it before resuming a
        // paused guest or starting the copy.
        ArchiveSource source = in.open();
        Path sockDir;
        try {
            ArchiveExportServer.requireRandomAccess(source);
            RestoreSession.select(source.layout(), java.util.Set.of()); // refuses unsafe disk names up front
            // made here, where a failure still closes the source (a socket directory that cannot be made)
            sockDir = socketDir != null ? Files.createDirectories(socketDir)
                    : Files.createTempDirectory("vmabackup-live-");
        } catch (IOException | RuntimeException e) {
            source.close();
            throw e;
        }
        // A guest restored with its VM state waits for that state before anything else: a store starts fetching it
        // now, while the images are created and QEMU starts (a remote store's first chunks are then there).
        source.prefetchVmstate();
        List<ArchiveDisk> disks = source.layout().disks();
        List<Path> finals = new ArrayList<>();
        for (ArchiveDisk d : disks) {
            finals.add(RestoreNames.imagePath(dir, d.name(), RestoreFormat.QCOW2.extension()));
        }
        Path sock = sockDir.resolve("archive-nbd.sock");
        List<ToolProcess> creating = new ArrayList<>();
        ArchiveExportServer server = null;
        CompletableFuture<ArchiveExportServer> starting = null;
        boolean started = false;
        boolean ok = false;
        try {
            cancel.check();
            RestoreSession.refuseExisting(finals);
            Files.createDirectories(dir);
            log.debug("live restore: header read after {} ms", ms(t0));
            // qemu-img create -u does not open the backing file: the images are made while the server starts
            for (int i = 0; i < disks.size(); i++) {
                creating.add(startOverlay(finals.get(i), "nbd+unix:///" + disks.get(i).name() + "?socket=" + sock,
                        disks.get(i).size()));
            }
            started = true; // from here on the server owns the source
            starting = ArchiveExportServer.builder(source).unixSocket(sock).indexInBackground(true).start();
            for (int i = 0; i < creating.size(); i++) {
                awaitOverlay(creating.get(i), finals.get(i));
                log.debug("live restore: {} created after {} ms", finals.get(i), ms(t0));
            }
            cancel.check();
            server = awaitServer(starting);
            cancel.check();
            log.debug("live restore: NBD server listening after {} ms", ms(t0));
            Map<String, Path> images = new LinkedHashMap<>();
            for (int i = 0; i < disks.size(); i++) {
                images.put(disks.get(i).name(), finals.get(i));
            }
            LiveRestorePlan p = new LiveRestorePlan(server, images, sock, socketDir == null ? sockDir : null,
                    in.bandwidthLimit(), in.listener(), in.executor(), t0, cancel);
            ok = true;
            plan.set(p);
            if (cancel.cancelled()) { // a cancel() that came before the plan was published did not see it
                p.discard();
                throw cancel.exception();
            }
            return p;
        } finally {
            if (!ok) {
                // the images did not exist before (refuseExisting): remove whatever our qemu-img runs left
                for (int i = 0; i < creating.size(); i++) {
                    creating.get(i).kill(); // waits (bounded) until it is gone: then its image can be removed
                    Files.deleteIfExists(finals.get(i));
                }
                if (server != null) {
                    closeBounded(server);
                } else if (starting != null) {
                    // failed or cancelled before the server was awaited: it owns the source, close it once started
                    // (a failed start closed the source itself)
                    starting.thenAccept(ArchiveExportServer::close);
                } else if (!started) {
                    source.close();
                }
                Files.deleteIfExists(sock);
                if (socketDir == null) {
                    Files.deleteIfExists(sockDir);
                }
            }
        }
    }

    private ArchiveExportServer awaitServer(CompletableFuture<ArchiveExportServer> starting) {
        try {
            return starting.get(10, TimeUnit.MINUTES);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new BackupException("cannot serve " + in.archivePath()
                    + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted while serving " + in.archivePath(), e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new BackupException("cannot serve " + in.archivePath() + ": " + e, e);
        }
    }

    /** Milliseconds since {@code t0} (System.nanoTime), for the step timings logged at debug level. */
    static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /** Closes the server after a failed start, waiting a bounded time: the failure is what the caller sees. */
    private static void closeBounded(ArchiveExportServer server) {
        try {
            server.close().get(CLOSE_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("live restore: closing the archive's NBD server: {}", e.toString());
        }
    }

    private ToolProcess startOverlay(Path image, String backing, long size) throws IOException {
        return ToolProcess.start(List.of(qemuImg.toString(), "create", "-q", "-f", "qcow2", "-u", "-b", backing, "-F",
                "raw", image.toString(), Long.toString(size)));
    }

    private static void awaitOverlay(ToolProcess p, Path image) {
        try {
            ToolProcess.Outcome o = p.await(OVERLAY_TIMEOUT, "qemu-img create of " + image);
            if (o.exitCode() != 0) {
                throw new BackupException("qemu-img create of " + image + " failed: " + o.output());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted while creating " + image, e);
        }
    }

    /**
     * Options of a live restore; the archive, progress (of the background copy), executor and bandwidth limit are
     * {@link RestoreBuilder}'s.
     */
    public static final class Builder extends RestoreBuilder<Builder> {
        private Path imageDir;
        private Path socketDir;
        private Path qemuImg = Path.of("qemu-img");

        private Builder() {
            super("live-restore");
        }

        /**
         * The archive: an uncompressed {@code .vma} file or a directory archive (random access is needed; a
         * compressed VMA is refused by name).
         */
        @Override
        public Builder archive(Path archive) {
            return super.archive(archive);
        }

        /**
         * An archive already opened, of any random-access format (e.g. {@link ArchiveSource#snapshot} of a chunk
         * store); the session owns it from now on and closes it when the restore ends.
         */
        @Override
        public Builder archive(ArchiveSource source) {
            return super.archive(source);
        }

        /** Where the local images {@code <device>.qcow2} are created. */
        public Builder imageDirectory(Path dir) {
            this.imageDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /**
         * Where the NBD socket goes (default: a fresh temporary directory). Its path is recorded in the images as
         * their backing file until the copy finished, so keep it short and stable.
         */
        public Builder socketDirectory(Path dir) {
            this.socketDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /**
         * Limits the background copy to {@code bytesPerSecond} in total (default 0: unlimited), through the speed of
         * QEMU's {@code block-stream} jobs: the total is split evenly between the disks, and a disk that finishes
         * early does not hand its share on. What the guest waits for is never limited, so the time until it runs
         * does not change: the VM state fed before it resumes, and its own reads of data not yet copied.
         *
         * @throws IllegalArgumentException if negative
         */
        @Override
        public Builder bandwidthLimit(long bytesPerSecond) {
            return super.bandwidthLimit(bytesPerSecond);
        }

        /**
         * The same as {@link #bandwidthLimit}.
         *
         * @deprecated use {@link #bandwidthLimit}, named like the other sessions' option
         */
        @Deprecated
        public Builder rateLimit(long bytesPerSecond) {
            return bandwidthLimit(bytesPerSecond);
        }

        /** The {@code qemu-img} program (default {@code qemu-img} on PATH). */
        public Builder qemuImg(Path program) {
            this.qemuImg = Objects.requireNonNull(program, "program");
            return this;
        }

        /** Checks the options and builds the session. */
        public LiveRestoreSession build() {
            RestoreInputs in = inputs();
            if (imageDir == null) {
                throw new IllegalStateException("no image directory given");
            }
            return new LiveRestoreSession(this, in);
        }
    }
}
