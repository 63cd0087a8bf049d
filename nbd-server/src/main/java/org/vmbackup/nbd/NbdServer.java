package org.vmbackup.nbd;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.nbd.internal.ExportEntry;
import org.vmbackup.nbd.internal.DirectReceive;
import org.vmbackup.nbd.internal.ExportRegistry;
import org.vmbackup.nbd.internal.HandshakeHandler;
import org.vmbackup.nbd.internal.NbdConstants;
import org.vmbackup.nbd.internal.ServerConfig;

/**
 * An NBD server listening on one unix socket or TCP address, serving any number of exports that can be added
 * and removed while it runs.
 *
 * <pre>{@code
 * try (NbdEventLoop loop = NbdEventLoop.create()) {
 *     NbdServer server = NbdServer.builder().unixSocket(dir.resolve("nbd.sock")).eventLoop(loop).build()
 *             .start().join();
 *     server.addExport(NbdExport.of("disk0", new MemoryBackend(1L << 30)));
 *     ...
 *     server.close().join();
 * }
 * }</pre>
 */
public final class NbdServer {
    private static final Logger log = LoggerFactory.getLogger(NbdServer.class);

    /**
     * Up to 16 reads per readiness event, as Netty's stream channels do by default: a channel given its own
     * allocator keeps the allocator's default of one, and then every 28-byte header and every piece of a payload
     * costs a trip through epoll.
     */
    private static final RecvByteBufAllocator RECEIVE_BUFFERS =
            new AdaptiveRecvByteBufAllocator(4 << 10, 256 << 10, 2 << 20).maxMessagesPerRead(16);

    /** The longest a warm-up keeps its callers (and a server started with {@code warmUp(true)}) waiting. */
    public static final Duration WARM_UP_MAX_WAIT = NbdWarmUp.MAX_DURATION;

    private final Builder options;
    private final ExportRegistry exports = new ExportRegistry();
    private final NbdEventLoop loop;
    private final boolean ownsLoop;
    private final Set<Channel> connections = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean shuttingDown = new AtomicBoolean();
    private volatile Channel serverChannel;

    private NbdServer(Builder b) {
        this.options = b;
        this.ownsLoop = b.eventLoop == null;
        this.loop = ownsLoop ? NbdEventLoop.create() : b.eventLoop;
        for (NbdExport e : b.exports) {
            addExport(e);
        }
    }

    /**
     * Starts the JVM's warm-up (see {@link Builder#warmUp}) on {@code loop} now, or joins the one already started,
     * so that it overlaps other start-up work (a server built later with {@code warmUp(true)} waits for the same
     * one). Never fails: a failed warm-up completes normally and is logged when a server waits for it.
     *
     * @return completes when the warm-up is over, at the latest after {@link #WARM_UP_MAX_WAIT} (a warm-up that
     *     cannot finish is abandoned)
     */
    public static CompletableFuture<Void> warmUp(NbdEventLoop loop) {
        Objects.requireNonNull(loop, "loop");
        return NbdWarmUp.bounded(NbdWarmUp.once(loop)).handle((r, e) -> null);
    }

    /** A builder; choose exactly one of {@link Builder#unixSocket} or {@link Builder#tcp}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Binds the socket and starts accepting clients (after the JVM's warm-up, if {@link Builder#warmUp} asked
     * for it).
     *
     * @return completes with this server once it listens, or exceptionally with an {@link NbdException}
     */
    public CompletableFuture<NbdServer> start() {
        if (!started.compareAndSet(false, true)) {
            return CompletableFuture.failedFuture(new NbdException("server already started"));
        }
        SocketAddress bindAddress;
        try {
            bindAddress = options.unixSocket != null ? unixAddress(options.unixSocket) : options.tcp;
        } catch (NbdException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (!options.warmUp) {
            return listen(bindAddress);
        }
        return NbdWarmUp.bounded(NbdWarmUp.once(loop)).handle((done, failure) -> {
            if (failure != null) { // costs the first client's speed, nothing else (NbdWarmUp logged why)
                log.info("NBD warm-up failed, serving without it: {}", failure.toString());
            }
            return null;
        }).thenCompose(v -> closed.get() || shuttingDown.get()
                ? CompletableFuture.<NbdServer>failedFuture(new NbdException("server closed while starting"))
                : listen(bindAddress));
    }

    private CompletableFuture<NbdServer> listen(SocketAddress bindAddress) {
        CompletableFuture<NbdServer> result = new CompletableFuture<>();
        boolean unix = options.unixSocket != null;
        ServerConfig config = new ServerConfig(exports, options.tls == null ? null : options.tls.context(),
                options.tlsRequired, options.handshakeTimeout, options.maxPendingBytes, NbdConstants.MAX_PAYLOAD,
                shuttingDown);
        ServerBootstrap bootstrap = new ServerBootstrap().group(loop.group())
                .channel(unix ? loop.unixServerChannel() : loop.tcpServerChannel())
                // The pooled allocator reuses memory steadily under 1 MiB writes (the decoder slices payloads
                // out of receive buffers without copying).
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(4 << 20, 16 << 20))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (closed.get()) {
                            ch.close();
                            return;
                        }
                        // Large receive buffers mean fewer reads per WRITE payload; payloads a backend has memory
                        // for are read straight into it instead (DirectReceive).
                        DirectReceive.install(ch, RECEIVE_BUFFERS);
                        connections.add(ch);
                        if (closed.get()) {
                            // closeNow ran between the check above and the add: its list of connections to close
                            // may have missed this one (it sets closed before it copies the list)
                            connections.remove(ch);
                            ch.close();
                            return;
                        }
                        ch.closeFuture().addListener(f -> connections.remove(ch));
                        ch.pipeline().addLast("nbd-handshake", new HandshakeHandler(config));
                    }
                });
        if (!unix) {
            bootstrap.childOption(ChannelOption.TCP_NODELAY, true);
        }
        ChannelFuture bound = bootstrap.bind(bindAddress);
        bound.addListener(f -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(new NbdException("cannot listen on " + describe() + ": "
                        + f.cause().getMessage(), f.cause()));
                if (ownsLoop) {
                    loop.closeAsync();
                }
                return;
            }
            serverChannel = bound.channel();
            if (unix) {
                try {
                    Files.setPosixFilePermissions(options.unixSocket, PosixFilePermissions.fromString("rw-------"));
                } catch (IOException | UnsupportedOperationException e) {
                    serverChannel.close();
                    result.completeExceptionally(new NbdException("cannot restrict " + options.unixSocket
                            + " to mode 0600: " + e.getMessage(), e));
                    return;
                }
            }
            if (options.quiet) {
                log.debug("NBD server listening on {} ({})", describe(), loop.isNative() ? "epoll" : "nio");
            } else {
                log.info("NBD server listening on {} ({})", describe(), loop.isNative() ? "epoll" : "nio");
            }
            result.complete(this);
        });
        return result;
    }

    private SocketAddress unixAddress(Path socket) {
        Path dir = socket.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NbdException("socket directory " + dir + " does not exist");
        }
        if (Files.exists(socket)) {
            throw new NbdException("socket path " + socket + " already exists");
        }
        return loop.isNative() ? new DomainSocketAddress(socket.toString()) : UnixDomainSocketAddress.of(socket);
    }

    private String describe() {
        return options.unixSocket != null ? "unix:" + options.unixSocket : "tcp:" + options.tcp;
    }

    /**
     * Adds an export; clients can open it immediately.
     *
     * @throws NbdException if an export of that name exists
     */
    public NbdServer addExport(NbdExport export) {
        if (!exports.add(Objects.requireNonNull(export, "export"))) {
            throw new NbdException("export '" + export.name() + "' already exists");
        }
        return this;
    }

    /**
     * Removes an export: new clients cannot open it, and connections using it are closed (requests in flight
     * are not answered).
     *
     * @return completes when those connections are closed; completes at once if there was no such export
     */
    public CompletableFuture<Void> removeExport(String name) {
        ExportEntry entry = exports.remove(name);
        if (entry == null) {
            return CompletableFuture.completedFuture(null);
        }
        return closeAll(List.copyOf(entry.channels()));
    }

    /** The names of the exports currently served. */
    public List<String> exports() {
        List<String> names = new ArrayList<>();
        for (ExportEntry e : exports.all()) {
            names.add(e.export().name());
        }
        return names;
    }

    /**
     * A snapshot of an export's counters.
     *
     * @throws NbdException if there is no such export
     */
    public NbdExportMetrics metrics(String export) {
        ExportEntry e = exports.get(export);
        if (e == null) {
            throw new NbdException("no export '" + export + "'");
        }
        return e.metrics().snapshot();
    }

    /** The address the server listens on (for TCP port 0: the chosen port), or null before start. */
    public SocketAddress localAddress() {
        Channel ch = serverChannel;
        return ch == null ? null : ch.localAddress();
    }

    /** The TCP port the server listens on, or -1 for a unix socket or before start. */
    public int port() {
        return localAddress() instanceof InetSocketAddress a ? a.getPort() : -1;
    }

    /** Whether the native epoll transport serves this server. */
    public boolean isNativeTransport() {
        return loop.isNative();
    }

    /**
     * Stops listening, closes every connection, deletes the unix socket, and shuts down the event loop if the
     * server created it.
     *
     * @return completes when all of that is done
     */
    public CompletableFuture<Void> close() {
        return close(Duration.ZERO);
    }

    /**
     * Closes gracefully: stops listening at once, then answers new options with ERR_SHUTDOWN and new requests
     * with ESHUTDOWN (clients are expected to disconnect), lets requests in flight finish, and closes whatever
     * connection is still open after {@code grace}. Then as {@link #close()}.
     *
     * @return completes when everything is closed
     */
    public CompletableFuture<Void> close(Duration grace) {
        if (closed.get()) {
            return CompletableFuture.completedFuture(null);
        }
        shuttingDown.set(true);
        Channel listening = serverChannel;
        CompletableFuture<Void> stopped = listening == null ? CompletableFuture.completedFuture(null)
                : closeAll(List.of(listening));
        if (grace.isZero() || grace.isNegative()) {
            return stopped.thenCompose(v -> closeNow());
        }
        long deadline = System.nanoTime() + grace.toNanos();
        CompletableFuture<Void> drained = new CompletableFuture<>();
        pollDrained(drained, deadline);
        return stopped.thenCombine(drained, (a, b) -> (Void) null).thenCompose(v -> closeNow());
    }

    private void pollDrained(CompletableFuture<Void> drained, long deadline) {
        if (connections.isEmpty() || System.nanoTime() >= deadline) {
            drained.complete(null);
            return;
        }
        loop.group().schedule(() -> pollDrained(drained, deadline), 20, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private CompletableFuture<Void> closeNow() {
        if (!closed.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        List<Channel> all = new ArrayList<>(connections);
        Channel server = serverChannel;
        if (server != null) {
            all.add(server);
        }
        return closeAll(all).whenComplete((v, e) -> {
            if (options.unixSocket != null && server != null) {
                try {
                    Files.deleteIfExists(options.unixSocket);
                } catch (IOException ex) {
                    log.warn("cannot delete {}: {}", options.unixSocket, ex.toString());
                }
            }
        }).thenCompose(v -> ownsLoop ? loop.closeAsync() : CompletableFuture.completedFuture(null));
    }

    private static CompletableFuture<Void> closeAll(List<Channel> channels) {
        CompletableFuture<?>[] futures = new CompletableFuture<?>[channels.size()];
        for (int i = 0; i < futures.length; i++) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            channels.get(i).close().addListener(x -> f.complete(null));
            futures[i] = f;
        }
        return CompletableFuture.allOf(futures);
    }

    /** Options of one server. Not thread-safe. */
    public static final class Builder {
        private Path unixSocket;
        private InetSocketAddress tcp;
        private NbdEventLoop eventLoop;
        private NbdTls tls;
        private boolean tlsRequired;
        private Duration handshakeTimeout = Duration.ofSeconds(10);
        private long maxPendingBytes = 64L << 20;
        private boolean warmUp;
        /** NbdWarmUp's private server: logs that it listens at debug level, not as a server users started. */
        boolean quiet;
        private final List<NbdExport> exports = new ArrayList<>();

        private Builder() {
        }

        /**
         * Listen on a unix socket at {@code path}, created with mode 0600; its directory must exist and should be
         * private to the caller. The path must not exist yet; it is deleted on close.
         */
        public Builder unixSocket(Path path) {
            this.unixSocket = Objects.requireNonNull(path, "path");
            this.tcp = null;
            return this;
        }

        /** Listen on a TCP address (use a loopback address unless clients are remote). */
        public Builder tcp(InetSocketAddress address) {
            this.tcp = Objects.requireNonNull(address, "address");
            this.unixSocket = null;
            return this;
        }

        /** Listen on the loopback address at {@code port} (0: any free port, see {@link NbdServer#port()}). */
        public Builder tcp(int port) {
            return tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        }

        /** Run on a shared event loop (default: a private one, shut down on close). */
        public Builder eventLoop(NbdEventLoop loop) {
            this.eventLoop = Objects.requireNonNull(loop, "loop");
            return this;
        }

        /** Offer STARTTLS with these credentials (default: no TLS; STARTTLS is refused). */
        public Builder tls(NbdTls credentials) {
            this.tls = Objects.requireNonNull(credentials, "credentials");
            return this;
        }

        /** Require STARTTLS before anything else, for every export (default false: per export). */
        public Builder tlsRequired(boolean required) {
            this.tlsRequired = required;
            return this;
        }

        /** How long a client may take from connecting to choosing an export (default 10 s). */
        public Builder handshakeTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("handshake timeout must be positive: " + timeout);
            }
            this.handshakeTimeout = timeout;
            return this;
        }

        /** Bytes in flight per connection before it stops reading requests (default 64 MiB, minimum 1 MiB). */
        public Builder maxPendingBytes(long bytes) {
            if (bytes < (1 << 20)) {
                throw new IllegalArgumentException("maxPendingBytes must be at least 1 MiB: " + bytes);
            }
            this.maxPendingBytes = bytes;
            return this;
        }

        /**
         * Before listening, send a few thousand requests (about 0.5 GiB of WRITEs, READs and the rest) through a
         * private server on the same event loop, so the JIT has compiled the request path before the first client
         * arrives. Once per JVM, whichever server asks first; typically 0.3-1 s of start-up on two cores. Worth it
         * for a server whose first client's throughput matters (a fresh JVM serves its first ~2 GiB about a fifth
         * slower without it); not for one whose start-up latency does. A failed warm-up is logged and the server
         * starts anyway. Default false.
         */
        public Builder warmUp(boolean warmUp) {
            this.warmUp = warmUp;
            return this;
        }

        /** An export to serve from the start. */
        public Builder export(NbdExport export) {
            exports.add(Objects.requireNonNull(export, "export"));
            return this;
        }

        /** The server, not yet listening (see {@link NbdServer#start()}). */
        public NbdServer build() {
            if (unixSocket == null && tcp == null) {
                throw new IllegalStateException("choose unixSocket(...) or tcp(...)");
            }
            if (tlsRequired && tls == null) {
                throw new IllegalStateException("tlsRequired needs tls(...) credentials");
            }
            return new NbdServer(this);
        }
    }
}
