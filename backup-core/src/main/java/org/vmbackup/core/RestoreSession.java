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
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.CancelSignal;
import org.vmbackup.core.internal.RateLimiter;
import org.vmbackup.core.internal.RestoreImageFile;
import org.vmbackup.core.internal.RestoreImageWriter;
import org.vmbackup.core.internal.RestoreProgressReporter;
import org.vmbackup.core.internal.RestoreNames;

/**
 * Restores the disks of an archive ({@link ArchiveSource}: a VMA file or stream, a directory archive) into image
 * files, streamed in one sequential pass (so {@code .vma.zst}, {@code .vma.gz} and stdin work): {@code
 * <dir>/<device>.raw} as sparse raw files of the exact disk size, or {@code <dir>/<device>.qcow2} as qcow2 v3 images
 * written directly (64 KiB clusters; the archive's holes stay unallocated; the data sits at its disk offset plus one
 * cluster, so the file is sparse like the raw one, its tables follow the data). Images are
 * written under temporary names and renamed only once the source's read completed: a corrupt archive fails with an
 * {@link IOException} naming the archive and where, and leaves nothing under the final names. The VM state is not
 * written. A
 * {@linkplain Builder#bandwidthLimit bandwidth limit} holds every copy of the restore to one total rate.
 *
 * <pre>{@code
 * RestoreResult r = RestoreSession.builder().archive(Path.of("vm.vma.zst")).imageDirectory(dir)
 *         .progress(p -> log(p)).build().start().join();
 * }</pre>
 */
public final class RestoreSession {
    private static final Logger log = LoggerFactory.getLogger(RestoreSession.class);

    private final RestoreInputs in;
    private final Path targetDir;
    private final RestoreFormat format;
    private final Set<String> devices;
    private final CancelSignal cancel = new CancelSignal("restore");
    private final AtomicBoolean started = new AtomicBoolean();

    private RestoreSession(Builder b, RestoreInputs in) {
        this.in = in;
        this.targetDir = b.targetDir;
        this.format = b.format;
        this.devices = Set.copyOf(b.devices);
    }

    /** A builder; an archive and a target directory are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Runs the restore on the executor; once per session.
     *
     * @return completes with the result, or exceptionally with a {@link BackupException} (refused: existing files,
     *     unsafe names), an {@link UncheckedIOException} (a bad archive: its message names the archive and where; I/O
     *     errors) or a {@link CancellationException} ({@link #cancel()}; cancelling this future cancels the session
     *     too, but it then completes before the clean-up is over)
     * @throws IllegalStateException if already started
     */
    public CompletableFuture<RestoreResult> start() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("restore session already started");
        }
        return cancel.start(in.executor(), this::run);
    }

    /**
     * Cancels the restore at any moment: it stops within one archive run, deletes its temporary files (and any image
     * it already renamed), and {@link #start()}'s future then completes with a {@link CancellationException}. Before
     * {@code start()}, the session will not run at all.
     *
     * @return false if too late: the restore had already delivered its result
     */
    public boolean cancel() {
        return cancel.cancel();
    }

    private RestoreResult run() throws IOException {
        long t0 = System.nanoTime();
        // a stream may block in a read that no check reaches: closing it ends the read
        try (CancelSignal.Registration unblock = cancel.onCancel(in::closeStreamQuietly);
                ArchiveSource source = in.open()) {
            cancel.check();
            List<Integer> selected = select(source.layout(), devices);
            return stream(source, selected, targetDir.toAbsolutePath().normalize(), RateLimiter.of(in.bandwidthLimit()),
                    t0);
        }
    }

    /**
     * Streams every selected disk into its image in one sequential pass of the source, whatever the format (raw and
     * qcow2 alike: both are written by position, see {@link RestoreImageFile}); commits all of them only after the
     * source's read completed (a sequential archive is known to be whole only at its end). The limiter is shared by
     * the disks: it counts the data written (zero runs are holes and cost nothing).
     */
    private RestoreResult stream(ArchiveSource source, List<Integer> selected, Path dir, RateLimiter limiter,
            long t0) throws IOException {
        ArchiveLayout layout = source.layout();
        List<Path> finals = new ArrayList<>();
        for (int i : selected) {
            finals.add(RestoreNames.imagePath(dir, layout.disk(i).name(), format.extension()));
        }
        refuseExisting(finals);
        Files.createDirectories(dir);
        RestoreImageFile[] byDisk = new RestoreImageFile[layout.disks().size()];
        List<RestoreImageFile> files = new ArrayList<>();
        List<ArchiveDisk> chosen = new ArrayList<>();
        selected.forEach(i -> chosen.add(layout.disk(i)));
        RestoreProgressReporter progress = new RestoreProgressReporter(chosen, false, in.listener(), System::nanoTime, t0);
        try {
            for (int k = 0; k < selected.size(); k++) {
                ArchiveDisk disk = layout.disk(selected.get(k));
                Path temp = RestoreNames.tempPath(finals.get(k));
                RestoreImageFile f = format == RestoreFormat.QCOW2
                        ? RestoreImageFile.createQcow2(disk, temp, finals.get(k))
                        : RestoreImageFile.create(disk, temp, finals.get(k));
                files.add(f);
                byDisk[selected.get(k)] = f;
            }
            source.read(new RestoreImageWriter(byDisk, limiter, progress::disk, null, cancel));
            for (RestoreImageFile f : files) {
                f.seal();
                cancel.check();
            }
            List<RestoredDisk> out = new ArrayList<>();
            try {
                for (RestoreImageFile f : files) {
                    f.commit();
                    out.add(new RestoredDisk(f.device().name(), f.target(), format, f.device().size(),
                            f.dataBytes()));
                }
            } finally {
                if (!cancel.finish() || out.size() < files.size()) {
                    // a cancel came before the last rename, or a rename failed: no final name stays behind
                    for (RestoredDisk d : out) {
                        Files.deleteIfExists(d.path());
                    }
                }
            }
            cancel.check();
            files.forEach(f -> progress.diskFinished(f.device().name()));
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            log.info("restored {} disk(s) of {} into {} in {} ms", out.size(), source.describe(), dir,
                    took.toMillis());
            return new RestoreResult(out, source.bytesRead(), took);
        } finally {
            files.forEach(RestoreImageFile::close);
        }
    }

    /**
     * The numbers of the disks to restore, in archive order: those named in {@code devices}, or all when it is
     * empty. Unknown names are refused, and so is every disk name that is not a plain file name, before anything is
     * written.
     */
    static List<Integer> select(ArchiveLayout layout, Set<String> devices) {
        Set<String> unknown = new HashSet<>(devices);
        unknown.remove("vmstate"); // not a disk, and never restored to a file; asking for it is harmless
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < layout.disks().size(); i++) {
            String name = layout.disk(i).name();
            unknown.remove(name);
            if (devices.isEmpty() || devices.contains(name)) {
                RestoreNames.check(name);
                out.add(i);
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

    /** Options of a disk restore; the archive, progress, executor and bandwidth limit are {@link RestoreBuilder}'s. */
    public static final class Builder extends RestoreBuilder<Builder> {
        private Path targetDir;
        private RestoreFormat format = RestoreFormat.RAW;
        private Set<String> devices = Set.of();

        private Builder() {
            super("restore");
        }

        /**
         * Limits the restore to {@code bytesPerSecond} in total for all its disks (default 0: unlimited): the data
         * written counts (one token bucket shared by the disks; zero blocks are holes and cost nothing), in either
         * format.
         *
         * @throws IllegalArgumentException if negative
         */
        @Override
        public Builder bandwidthLimit(long bytesPerSecond) {
            return super.bandwidthLimit(bytesPerSecond);
        }

        /**
         * The archive: a VMA file ({@code .vma}, {@code .vma.zst}, {@code .vma.gz}) or a directory archive, recognised
         * by content ({@link ArchiveSource#open}).
         */
        @Override
        public Builder archive(Path archive) {
            return super.archive(archive);
        }

        /** A VMA archive as a stream, e.g. stdin (raw, zstd or gzip); closed when the restore ends. */
        public Builder archive(InputStream archive) {
            return archiveStream(archive);
        }

        /** The directory to write the images into (created if missing; existing images are never overwritten). */
        public Builder imageDirectory(Path dir) {
            this.targetDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** The image format (default raw). */
        public Builder format(RestoreFormat format) {
            this.format = Objects.requireNonNull(format, "format");
            return this;
        }

        /** Only the disks of these names in the archive (default: every disk). */
        public Builder disks(Set<String> names) {
            this.devices = Set.copyOf(names);
            return this;
        }

        /** Checks the options and builds the session. */
        public RestoreSession build() {
            RestoreInputs in = inputs();
            if (targetDir == null) {
                throw new IllegalStateException("no target directory given");
            }
            return new RestoreSession(this, in);
        }
    }
}
