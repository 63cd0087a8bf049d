package org.vmbackup.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.RateLimiter;
import org.vmbackup.core.internal.RestoreImageFile;
import org.vmbackup.core.internal.RestoreNames;
import org.vmbackup.core.internal.RestoreQemuImg;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaHeader;
import org.vmbackup.vma.VmaReader;

/**
 * Restores the disks of a VMA archive into image files: {@code <dir>/<device>.raw} as sparse raw files of the exact
 * device size, streamed in one sequential pass (so {@code .vma.zst}, {@code .vma.gz} and stdin work), or
 * {@code <dir>/<device>.qcow2} through {@code qemu-img convert} reading the archive over our NBD export (uncompressed
 * archive files) or a temporary raw image (streams). Images are written under temporary names and renamed only once
 * the whole archive checked out: a corrupt archive fails with the {@link org.vmbackup.vma.VmaFormatException} and
 * leaves nothing under the final names. The {@code vmstate} device is not written. A
 * {@linkplain Builder#bandwidthLimit bandwidth limit} holds every copy of the restore to one total rate.
 *
 * <pre>{@code
 * RestoreResult r = RestoreSession.builder().archive(Path.of("vm.vma.zst")).targetDirectory(dir)
 *         .progress(p -> log(p)).build().start().join();
 * }</pre>
 */
public final class RestoreSession {
    private static final Logger log = LoggerFactory.getLogger(RestoreSession.class);

    private final Path archivePath;
    private final InputStream archiveStream;
    private final Path targetDir;
    private final RestoreFormat format;
    private final Set<String> devices;
    private final RestoreProgressListener listener;
    private final Executor executor;
    private final Path qemuImg;
    private final long bandwidthLimit;

    private RestoreSession(Builder b) {
        this.archivePath = b.archivePath;
        this.archiveStream = b.archiveStream;
        this.targetDir = b.targetDir;
        this.format = b.format;
        this.devices = Set.copyOf(b.devices);
        this.listener = b.listener;
        this.executor = b.executor;
        this.qemuImg = b.qemuImg;
        this.bandwidthLimit = b.bandwidthLimit;
    }

    /** A builder; an archive and a target directory are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Runs the restore on the executor.
     *
     * @return completes with the result, or exceptionally with a {@link org.vmbackup.vma.VmaFormatException} (bad
     *     archive), {@link BackupException} (refused: existing files, unsafe names, qemu-img failure) or
     *     {@link UncheckedIOException}
     */
    public CompletableFuture<RestoreResult> start() {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, executor).exceptionallyCompose(e -> CompletableFuture.failedFuture(
                e instanceof CompletionException && e.getCause() != null ? e.getCause() : e));
    }

    private RestoreResult run() throws IOException {
        long t0 = System.nanoTime();
        if (format == RestoreFormat.QCOW2 && archivePath != null && VmaExportServer.isSeekable(archivePath)) {
            return RestoreQcow2FromExport.run(archivePath, targetDir, devices, listener, qemuImg, bandwidthLimit, t0);
        }
        try (VmaReader reader = archivePath != null ? VmaReader.open(archivePath) : VmaReader.open(archiveStream)) {
            if (format == RestoreFormat.RAW) {
                return streamRaw(reader, targetDir.toAbsolutePath().normalize(), RateLimiter.of(bandwidthLimit), t0);
            }
            return streamViaRaw(reader, t0);
        }
    }

    /**
     * Streams every selected disk into a sparse raw file; commits all of them only after the last extent. The
     * limiter is shared by the disks: it counts the data written (zero blocks are holes and cost nothing).
     */
    private RestoreResult streamRaw(VmaReader reader, Path dir, RateLimiter limiter, long t0) throws IOException {
        List<VmaDevice> selected = selected(reader.header());
        List<Path> finals = new ArrayList<>();
        for (VmaDevice d : selected) {
            finals.add(RestoreNames.imagePath(dir, d.name(), RestoreFormat.RAW.extension()));
        }
        refuseExisting(finals);
        Files.createDirectories(dir);
        RestoreImageFile[] byId = new RestoreImageFile[256];
        List<RestoreImageFile> files = new ArrayList<>();
        try {
            for (int i = 0; i < selected.size(); i++) {
                RestoreImageFile f = RestoreImageFile.create(selected.get(i), RestoreNames.tempPath(finals.get(i)),
                        finals.get(i));
                files.add(f);
                byId[selected.get(i).id()] = f;
            }
            RestoreImageFile[] last = new RestoreImageFile[1];
            while (reader.next((dev, cluster, mask, blocks) -> {
                RestoreImageFile f = byId[dev.id()];
                if (f != null) {
                    limiter.acquireIo(blocks.remaining());
                    f.write(cluster, mask, blocks);
                    last[0] = f;
                }
            })) {
                if (last[0] != null) {
                    report(last[0], false);
                    last[0] = null;
                }
            }
            List<RestoredDisk> out = new ArrayList<>();
            for (RestoreImageFile f : files) {
                f.commit();
                report(f, true);
                out.add(new RestoredDisk(f.device().name(), f.target(), RestoreFormat.RAW, f.device().size(),
                        f.dataBytes()));
            }
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            log.info("restored {} disk(s) into {} in {} ms", out.size(), dir, took.toMillis());
            return new RestoreResult(out, reader.position(), took);
        } finally {
            files.forEach(RestoreImageFile::close);
        }
    }

    /** qcow2 from a stream: raw images in a private directory first, then {@code qemu-img convert}. */
    private RestoreResult streamViaRaw(VmaReader reader, long t0) throws IOException {
        List<VmaDevice> selected = selected(reader.header());
        Path dir = targetDir.toAbsolutePath().normalize();
        List<Path> finals = new ArrayList<>();
        for (VmaDevice d : selected) {
            finals.add(RestoreNames.imagePath(dir, d.name(), RestoreFormat.QCOW2.extension()));
        }
        refuseExisting(finals);
        Files.createDirectories(dir);
        Path scratch = Files.createTempDirectory(dir, ".restore-");
        try {
            RestoreResult raw = streamRaw(reader, scratch, RateLimiter.of(bandwidthLimit), t0);
            List<RestoredDisk> out = new ArrayList<>();
            List<Path> temps = new ArrayList<>();
            try {
                for (int i = 0; i < raw.disks().size(); i++) {
                    RestoredDisk d = raw.disks().get(i);
                    Path temp = RestoreNames.tempPath(finals.get(i));
                    temps.add(temp);
                    RestoreQemuImg.convert(qemuImg, "raw", d.path().toString(), temp, bandwidthLimit);
                }
                for (int i = 0; i < raw.disks().size(); i++) {
                    RestoredDisk d = raw.disks().get(i);
                    Files.move(temps.get(i), finals.get(i), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    out.add(new RestoredDisk(d.device(), finals.get(i), RestoreFormat.QCOW2, d.size(), d.dataBytes()));
                }
            } finally {
                for (Path t : temps) {
                    Files.deleteIfExists(t);
                }
            }
            return new RestoreResult(out, raw.archiveBytes(), Duration.ofNanos(System.nanoTime() - t0));
        } finally {
            try (var s = Files.list(scratch)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(scratch);
        }
    }

    private void report(RestoreImageFile f, boolean finished) {
        try {
            listener.progress(new RestoreProgress(f.device().name(), finished ? f.device().size() : f.doneBytes(),
                    f.device().size(), finished));
        } catch (RuntimeException e) {
            log.warn("progress listener failed", e);
        }
    }

    /** The disk devices to restore (never vmstate); unknown requested names are refused. */
    List<VmaDevice> selected(VmaHeader h) {
        return select(h, devices);
    }

    static List<VmaDevice> select(VmaHeader h, Set<String> devices) {
        Set<String> unknown = new HashSet<>(devices);
        List<VmaDevice> out = new ArrayList<>();
        for (VmaDevice d : h.devices()) {
            unknown.remove(d.name());
            if (!d.isVmstate() && (devices.isEmpty() || devices.contains(d.name()))) {
                out.add(d);
            }
        }
        if (!unknown.isEmpty()) {
            throw new BackupException("no device named " + String.join(", ", unknown) + " in the archive");
        }
        return out;
    }

    static void refuseExisting(List<Path> finals) {
        for (Path p : finals) {
            if (Files.exists(p) || Files.exists(RestoreNames.tempPath(p))) {
                throw new BackupException("refusing to overwrite " + (Files.exists(p) ? p : RestoreNames.tempPath(p))
                        + ": it already exists");
            }
        }
    }

    /** Options of a disk restore. */
    public static final class Builder {
        private Path archivePath;
        private InputStream archiveStream;
        private Path targetDir;
        private RestoreFormat format = RestoreFormat.RAW;
        private Set<String> devices = Set.of();
        private RestoreProgressListener listener = RestoreProgressListener.NONE;
        private Executor executor = org.vmbackup.core.internal.RestoreThreads.perTask("restore");
        private Path qemuImg = Path.of("qemu-img");
        private long bandwidthLimit;

        private Builder() {
        }

        /**
         * Limits the restore to {@code bytesPerSecond} in total for all its disks (default 0: unlimited). Raw images
         * count the data written (one token bucket shared by the disks; zero blocks are holes and cost nothing);
         * qcow2 images are written by {@code qemu-img convert -r}, one disk after the other, so each runs at the
         * whole rate (qemu-img counts the data it copies, not holes). From a stream, qcow2 goes through a raw copy
         * first and both steps are held to the rate.
         *
         * @throws IllegalArgumentException if negative
         */
        public Builder bandwidthLimit(long bytesPerSecond) {
            this.bandwidthLimit = RateLimiter.checkRate(bytesPerSecond, "bandwidthLimit");
            return this;
        }

        /** The archive file ({@code .vma}, {@code .vma.zst}, {@code .vma.gz}; recognised by content). */
        public Builder archive(Path archive) {
            this.archivePath = Objects.requireNonNull(archive, "archive");
            this.archiveStream = null;
            return this;
        }

        /** The archive as a stream, e.g. stdin (raw, zstd or gzip); closed when the restore ends. */
        public Builder archive(InputStream archive) {
            this.archiveStream = Objects.requireNonNull(archive, "archive");
            this.archivePath = null;
            return this;
        }

        /** The directory to write the images into (created if missing; existing images are never overwritten). */
        public Builder targetDirectory(Path dir) {
            this.targetDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** The image format (default raw). */
        public Builder format(RestoreFormat format) {
            this.format = Objects.requireNonNull(format, "format");
            return this;
        }

        /** Only these devices (default: every disk of the archive). */
        public Builder devices(Set<String> names) {
            this.devices = Set.copyOf(names);
            return this;
        }

        /** The progress listener (default none). */
        public Builder progress(RestoreProgressListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Where the restore runs (default: a new daemon thread); it blocks on file I/O. */
        public Builder executor(Executor executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /** The {@code qemu-img} program for qcow2 output (default {@code qemu-img} on PATH). */
        public Builder qemuImg(Path program) {
            this.qemuImg = Objects.requireNonNull(program, "program");
            return this;
        }

        /** Checks the options and builds the session. */
        public RestoreSession build() {
            if (archivePath == null && archiveStream == null) {
                throw new IllegalStateException("no archive given");
            }
            if (targetDir == null) {
                throw new IllegalStateException("no target directory given");
            }
            return new RestoreSession(this);
        }
    }
}
