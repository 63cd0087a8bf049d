package org.vmbackup.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.ArchiveReadBackend;
import org.vmbackup.core.internal.DeferredExportBackend;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdEventLoop;
import org.vmbackup.nbd.NbdExport;
import org.vmbackup.nbd.NbdServer;

/**
 * Serves the disks of an archive over NBD, whatever its format: one read-only export per disk, named after the disk
 * ({@code drive-scsi0}), reads and block status (holes) through the source's {@link RandomAccessDisk}. The archive
 * needs random access ({@link ArchiveSource#randomAccess()}: an uncompressed VMA file, a directory archive); a
 * sequential one (a compressed VMA) is refused by name. Closing it stops the server and closes the archive.
 *
 * <pre>{@code
 * ArchiveExportServer s = ArchiveExportServer.builder(archive).unixSocket(sock).start().join();
 * // qemu-img convert nbd+unix:///drive-scsi0?socket=SOCK out.qcow2
 * s.close().join();
 * }</pre>
 */
public final class ArchiveExportServer {
    private static final Logger log = LoggerFactory.getLogger(ArchiveExportServer.class);

    private final ArchiveSource source;
    private final CompletableFuture<Void> ready;
    private final NbdServer server;
    private final ExecutorService readers;

    private ArchiveExportServer(ArchiveSource source, CompletableFuture<Void> ready, NbdServer server,
            ExecutorService readers) {
        this.source = source;
        this.ready = ready;
        this.server = server;
        this.readers = readers;
    }

    /** A builder serving the archive at {@code archive} ({@link ArchiveSource#open}), opened by {@code start()}. */
    public static Builder builder(Path archive) {
        return new Builder(Objects.requireNonNull(archive, "archive"), null);
    }

    /** A builder serving {@code source}; the server owns it from {@code start()} on and closes it. */
    public static Builder builder(ArchiveSource source) {
        return new Builder(null, Objects.requireNonNull(source, "source"));
    }

    /** What the archive holds. */
    public ArchiveLayout layout() {
        return source.layout();
    }

    /** The disks served, one export each (export name = disk name), in archive order. */
    public List<ArchiveDisk> disks() {
        return source.layout().disks();
    }

    /** The archive (e.g. for its VM state); closed with the server. */
    public ArchiveSource source() {
        return source;
    }

    /**
     * Completes once every disk can be read (at once unless {@link Builder#indexInBackground}), or exceptionally
     * with the archive's error (a truncated or corrupt VMA found by its scan).
     */
    public CompletableFuture<Void> ready() {
        return ready.copy();
    }

    /** Where the server listens. */
    public SocketAddress localAddress() {
        return server.localAddress();
    }

    /** The NBD server (for metrics). */
    public NbdServer server() {
        return server;
    }

    /** Stops serving, closes client connections, then the archive (after an indexing scan still running). */
    public CompletableFuture<Void> close() {
        return server.close().whenComplete((v, e) -> {
            readers.shutdown();
            ready.whenComplete((r, f) -> closeQuietly(source));
        });
    }

    private static void closeQuietly(ArchiveSource source) {
        try {
            source.close();
        } catch (IOException e) {
            log.warn("closing archive {}: {}", source.describe(), e.toString());
        }
    }

    /** Options of an archive export. */
    public static final class Builder {
        private final Path archive;
        private final ArchiveSource given;
        private Path socket;
        private InetSocketAddress tcp;
        private NbdEventLoop loop;
        private int readThreads = 4;
        private boolean background;
        private boolean warmUp;

        private Builder(Path archive, ArchiveSource given) {
            this.archive = archive;
            this.given = given;
        }

        /** Listen on this unix socket. */
        public Builder unixSocket(Path path) {
            this.socket = Objects.requireNonNull(path, "path");
            this.tcp = null;
            return this;
        }

        /** Listen on this TCP address (port 0: any free port). */
        public Builder tcp(InetSocketAddress address) {
            this.tcp = Objects.requireNonNull(address, "address");
            this.socket = null;
            return this;
        }

        /** Share an event loop (default: the server's own). */
        public Builder eventLoop(NbdEventLoop loop) {
            this.loop = Objects.requireNonNull(loop, "loop");
            return this;
        }

        /** Threads doing the blocking archive reads (default 4). */
        public Builder readThreads(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("readThreads must be >= 1: " + n);
            }
            this.readThreads = n;
            return this;
        }

        /**
         * Make the disks ready for random access (for a VMA file: one scan of its extent headers) on a background
         * thread while the server starts (default no: every disk is ready before the server listens). The exports
         * then exist at once (their sizes come from the layout); reads and block-status requests wait for the scan,
         * and fail with its error if it fails; {@link #ready()} tells when it ended.
         */
        public Builder indexInBackground(boolean background) {
            this.background = background;
            return this;
        }

        /**
         * Warm the NBD request path up before listening ({@link NbdServer.Builder#warmUp}; default no: a live
         * restore wants its export listening as soon as possible).
         */
        public Builder warmUp(boolean warmUp) {
            this.warmUp = warmUp;
            return this;
        }

        /**
         * Opens the archive (unless given), makes its disks ready (unless in the background) and starts the server.
         *
         * @return completes once the server listens; fails with an {@link UncheckedIOException} naming the archive
         *     (missing, bad), a {@link BackupException} for an archive read in order only, or an
         *     {@link org.vmbackup.nbd.NbdException} if it cannot listen
         */
        public CompletableFuture<ArchiveExportServer> start() {
            if (socket == null && tcp == null) {
                throw new IllegalStateException("choose unixSocket or tcp");
            }
            long t0 = System.nanoTime();
            ArchiveSource source = given;
            try {
                if (source == null) {
                    source = ArchiveSource.open(archive);
                }
                requireRandomAccess(source);
            } catch (IOException e) {
                closeQuietlyIfOpened(source);
                return CompletableFuture.failedFuture(new UncheckedIOException(e.getMessage(), e));
            } catch (RuntimeException e) {
                closeQuietlyIfOpened(source);
                return CompletableFuture.failedFuture(e);
            }
            AtomicInteger n = new AtomicInteger();
            ExecutorService readers = Executors.newFixedThreadPool(readThreads, r -> {
                Thread t = new Thread(r, "archive-export-read-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            List<ArchiveDisk> disks = source.layout().disks();
            Map<Integer, CompletableFuture<ArchiveReadBackend>> backends = new LinkedHashMap<>();
            for (int i = 0; i < disks.size(); i++) {
                backends.put(i, new CompletableFuture<>());
            }
            CompletableFuture<Void> ready = new CompletableFuture<>();
            ArchiveSource s = source;
            Runnable open = () -> openDisks(s, backends, readers, ready, t0);
            if (background) {
                Thread scan = new Thread(open, "archive-export-index");
                scan.setDaemon(true);
                scan.start();
            } else {
                open.run();
                try {
                    ready.join();
                } catch (CompletionException e) {
                    readers.shutdown();
                    closeQuietly(source);
                    return CompletableFuture.failedFuture(e.getCause());
                }
            }
            NbdServer.Builder b = NbdServer.builder().warmUp(warmUp);
            if (socket != null) {
                b.unixSocket(socket);
            } else {
                b.tcp(tcp);
            }
            if (loop != null) {
                b.eventLoop(loop);
            }
            for (int i = 0; i < disks.size(); i++) {
                ArchiveDisk d = disks.get(i);
                CompletableFuture<ArchiveReadBackend> f = backends.get(i);
                // a background scan may already have ended, well or (a small bad archive) badly: only a ready
                // backend is served directly, anything else through the deferred one, which reports the failure
                NbdBackend backend = f.isDone() && !f.isCompletedExceptionally() ? f.join()
                        : new DeferredExportBackend(d.size(), f);
                b.export(new NbdExport(d.name(), backend, true, false, "archive " + source.describe() + " disk "
                        + d.name()));
            }
            log.debug("exports of {} ready after {} ms", source.describe(), LiveRestoreSession.ms(t0));
            NbdServer server = b.build();
            return server.start().handle((started, e) -> {
                if (e != null) {
                    readers.shutdown();
                    ready.whenComplete((v, f) -> closeQuietly(s));
                    throw e instanceof RuntimeException r ? r : new CompletionException(e);
                }
                return new ArchiveExportServer(s, ready, started, readers);
            });
        }

        /** Opens every disk for random access, then completes {@code ready}; a failure fails both. */
        private static void openDisks(ArchiveSource source, Map<Integer, CompletableFuture<ArchiveReadBackend>> backends,
                ExecutorService readers, CompletableFuture<Void> ready, long t0) {
            try {
                for (Map.Entry<Integer, CompletableFuture<ArchiveReadBackend>> e : backends.entrySet()) {
                    e.getValue().complete(new ArchiveReadBackend(source.disk(e.getKey()), readers));
                }
                log.debug("archive {} ready for random access after {} ms", source.describe(),
                        LiveRestoreSession.ms(t0));
                ready.complete(null);
            } catch (IOException e) {
                fail(backends, ready, new UncheckedIOException(e.getMessage(), e));
            } catch (RuntimeException | Error e) {
                fail(backends, ready, e);
            }
        }

        private static void fail(Map<Integer, CompletableFuture<ArchiveReadBackend>> backends,
                CompletableFuture<Void> ready, Throwable e) {
            backends.values().forEach(f -> f.completeExceptionally(e));
            ready.completeExceptionally(e);
        }

        private void closeQuietlyIfOpened(ArchiveSource source) {
            if (source != null) {
                closeQuietly(source);
            }
        }
    }

    /**
     * Refuses an archive that can only be read in order: serving a disk means reading it at any offset.
     *
     * @throws BackupException naming the archive and what it would take
     */
    static void requireRandomAccess(ArchiveSource source) {
        if (!source.randomAccess()) {
            throw new BackupException("serving " + source.describe() + " over NBD needs random access to its disks, "
                    + "but it can only be read in order (a compressed VMA or a stream): decompress it into an "
                    + "uncompressed VMA file first, or use a directory archive");
        }
    }
}
