package org.vmbackup.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.vmbackup.core.internal.DeferredExportBackend;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdEventLoop;
import org.vmbackup.nbd.NbdExport;
import org.vmbackup.nbd.NbdServer;
import org.vmbackup.vma.VmaCompression;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaFormatException;
import org.vmbackup.vma.VmaHeader;
import org.vmbackup.vma.VmaIndex;
import org.vmbackup.vma.VmaReader;

/**
 * Serves the disks of a seekable (uncompressed) archive file over NBD: one read-only export per disk device, named
 * after the device ({@code drive-scsi0}), random access through a {@link VmaIndex}, zero ranges reported as holes.
 * Closing it stops the server and releases the archive.
 *
 * <pre>{@code
 * VmaExportServer s = VmaExportServer.builder(archive).unixSocket(sock).build().start().join();
 * // qemu-img convert nbd+unix:///drive-scsi0?socket=SOCK out.qcow2
 * s.close().join();
 * }</pre>
 */
public final class VmaExportServer {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(VmaExportServer.class);

    private final VmaHeader header;
    private final CompletableFuture<VmaIndex> index;
    private final NbdServer server;
    private final ExecutorService readers;
    private final List<VmaDevice> disks;
    private final java.util.Map<String, CompletableFuture<VmaExportBackend>> backends;

    private VmaExportServer(VmaHeader header, CompletableFuture<VmaIndex> index, NbdServer server,
            ExecutorService readers, List<VmaDevice> disks,
            java.util.Map<String, CompletableFuture<VmaExportBackend>> backends) {
        this.header = header;
        this.index = index;
        this.server = server;
        this.readers = readers;
        this.disks = disks;
        this.backends = backends;
    }

    /**
     * The backend serving the export of {@code device} (with {@link Builder#indexInBackground}, waits for the
     * index).
     */
    public VmaExportBackend backend(String device) {
        CompletableFuture<VmaExportBackend> b = backends.get(device);
        if (b == null) {
            throw new IllegalArgumentException("no export for device " + device);
        }
        return b.join();
    }

    /** A builder for serving {@code archive}. */
    public static Builder builder(Path archive) {
        return new Builder(archive);
    }

    /** Whether {@code archive} can be served (a regular uncompressed file: the index needs positional reads). */
    public static boolean isSeekable(Path archive) {
        try (FileChannel ch = FileChannel.open(archive, StandardOpenOption.READ)) {
            ByteBuffer first = ByteBuffer.allocate(4);
            ch.read(first, 0);
            return VmaCompression.detect(first.flip()) == VmaCompression.NONE;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** The disk devices served, one export each (export name = device name). */
    public List<VmaDevice> disks() {
        return disks;
    }

    /**
     * The archive index (shared, thread-safe). With {@link Builder#indexInBackground} this waits until the scan
     * finished and throws its failure; {@link #indexed()} does not wait.
     */
    public VmaIndex index() {
        return index.join();
    }

    /** Completes with the index once the archive is scanned (at once unless {@link Builder#indexInBackground}). */
    public CompletableFuture<VmaIndex> indexed() {
        return index.copy();
    }

    /** The archive header (devices and sizes; known before the index). */
    public VmaHeader header() {
        return header;
    }

    /** Where the server listens. */
    public SocketAddress localAddress() {
        return server.localAddress();
    }

    /** The NBD server (for metrics). */
    public NbdServer server() {
        return server;
    }

    /** Stops serving, closes client connections and the archive file. */
    public CompletableFuture<Void> close() {
        return server.close().whenComplete((v, e) -> {
            readers.shutdown();
            if (index.isDone()) {
                closeIndex(index);
            } else { // a scan still running closes the file once it ends; nobody needs to wait for it
                index.whenComplete((i, f) -> closeIndex(index));
            }
        });
    }

    private static void closeIndex(CompletableFuture<VmaIndex> index) {
        VmaIndex i = index.isCompletedExceptionally() ? null : index.getNow(null);
        if (i != null) {
            try {
                i.close();
            } catch (IOException io) {
                throw new UncheckedIOException(io);
            }
        }
    }

    /** Options of an archive export. */
    public static final class Builder {
        private final Path archive;
        private Path socket;
        private InetSocketAddress tcp;
        private NbdEventLoop loop;
        private int readThreads = 4;
        private boolean includeVmstate;
        private boolean background;
        private boolean warmUp;
        private VmaHeader knownHeader;

        private Builder(Path archive) {
            this.archive = Objects.requireNonNull(archive, "archive");
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

        /** Also export the {@code vmstate} device, sized as the header says (default no). */
        public Builder includeVmstate(boolean include) {
            this.includeVmstate = include;
            return this;
        }

        /**
         * Scan the archive for its index on a background thread while the server starts (default no: the index is
         * complete before the server listens). The exports then exist at once (their sizes come from the header);
         * reads and block-status requests wait for the scan, and fail with its error if it fails. The header and the
         * compression are still checked before the server starts.
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

        /** The header the caller already read from this archive, so a background-indexed start does not again. */
        Builder header(VmaHeader header) {
            this.knownHeader = Objects.requireNonNull(header, "header");
            return this;
        }

        /**
         * Indexes the archive (one scan of its extent headers) and starts the server.
         *
         * @return completes once the server listens; fails with a {@link org.vmbackup.vma.VmaFormatException} for a
         *     bad or compressed archive, or an {@link org.vmbackup.nbd.NbdException} if it cannot listen
         */
        public CompletableFuture<VmaExportServer> start() {
            if (socket == null && tcp == null) {
                throw new IllegalStateException("choose unixSocket or tcp");
            }
            CompletableFuture<VmaIndex> index;
            VmaHeader header;
            long t0 = System.nanoTime();
            try {
                if (background) {
                    header = knownHeader != null ? knownHeader : readHeader(archive);
                    index = new CompletableFuture<>();
                    Thread scan = new Thread(() -> scan(archive, index, t0), "vma-export-index");
                    scan.setDaemon(true);
                    scan.start();
                } else {
                    index = CompletableFuture.completedFuture(VmaIndex.open(archive));
                    header = index.join().header();
                    log.debug("archive {} indexed in {} ms", archive, LiveRestoreSession.ms(t0));
                }
            } catch (IOException e) {
                return CompletableFuture.failedFuture(new UncheckedIOException("cannot open archive " + archive
                        + ": " + e.getMessage(), e));
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
            AtomicInteger n = new AtomicInteger();
            ExecutorService readers = Executors.newFixedThreadPool(readThreads, r -> {
                Thread t = new Thread(r, "vma-export-read-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            NbdServer.Builder b = NbdServer.builder().warmUp(warmUp);
            if (socket != null) {
                b.unixSocket(socket);
            } else {
                b.tcp(tcp);
            }
            if (loop != null) {
                b.eventLoop(loop);
            }
            List<VmaDevice> disks = new ArrayList<>();
            java.util.Map<String, CompletableFuture<VmaExportBackend>> backends = new java.util.LinkedHashMap<>();
            for (VmaDevice d : header.devices()) {
                if (!d.isVmstate() || includeVmstate) {
                    NbdBackend backend;
                    CompletableFuture<VmaExportBackend> ready;
                    if (!background) {
                        VmaExportBackend now = new VmaExportBackend(index.join(), d, readers);
                        backend = now;
                        ready = CompletableFuture.completedFuture(now);
                    } else {
                        // the block-status table is built on the scan's thread, in device order
                        ready = index.thenApply(i -> new VmaExportBackend(i, d, readers));
                        backend = new DeferredExportBackend(d, ready);
                    }
                    b.export(new NbdExport(d.name(), backend, true, false,
                            "archive " + archive.getFileName() + " device " + d.name()));
                    disks.add(d);
                    backends.put(d.name(), ready);
                }
            }
            log.debug("exports of {} ready after {} ms", archive, LiveRestoreSession.ms(t0));
            NbdServer server = b.build();
            return server.start().handle((s, e) -> {
                if (e != null) {
                    readers.shutdown();
                    index.whenComplete((i, f) -> closeIndex(index));
                    throw e instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(e);
                }
                return new VmaExportServer(header, index, s, readers, List.copyOf(disks),
                        java.util.Map.copyOf(backends));
            });
        }

        /** Checks the archive is uncompressed (like the index does) and reads its header only. */
        static VmaHeader readHeader(Path archive) throws IOException {
            try (FileChannel ch = FileChannel.open(archive, StandardOpenOption.READ)) {
                ByteBuffer magic = ByteBuffer.allocate(4);
                ch.read(magic, 0);
                VmaCompression c = VmaCompression.detect(magic.flip());
                if (c != VmaCompression.NONE) {
                    throw new VmaFormatException("offset 0: the index needs an uncompressed archive (" + c
                            + " found); decompress it first");
                }
            }
            try (VmaReader r = VmaReader.open(archive)) {
                return r.header();
            }
        }

        private static void scan(Path archive, CompletableFuture<VmaIndex> index, long t0) {
            try {
                VmaIndex i = VmaIndex.open(archive);
                log.debug("archive {} indexed in {} ms (in the background)", archive, LiveRestoreSession.ms(t0));
                if (!index.complete(i)) {
                    i.close();
                }
            } catch (IOException e) {
                index.completeExceptionally(new UncheckedIOException("cannot index archive " + archive + ": "
                        + e.getMessage(), e));
            } catch (RuntimeException | Error e) {
                index.completeExceptionally(e);
            }
        }
    }
}
