package org.vmbackup.qmp;

import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.qmp.command.FdCommands;
import org.vmbackup.qmp.command.QueryCommands;
import org.vmbackup.qmp.internal.ConnectFailures;
import org.vmbackup.qmp.internal.JsonStreamDecoder;
import org.vmbackup.qmp.internal.Transports;

/**
 * An asynchronous QMP connection to one QEMU (or qemu-storage-daemon).
 *
 * <pre>{@code
 * try (QmpClient qmp = QmpClient.connect(Path.of("/run/vm/qmp.sock")).join()) {
 *     try (QmpEventSubscription jobs = qmp.subscribe(e -> e instanceof QmpEvent.JobStatusChange)) {
 *         qmp.execute(new BlockCommands.BlockdevBackup(...)).join();
 *         jobs.await(QmpEvent.JobStatusChange.class, e -> e.status() == QmpJobStatus.CONCLUDED, null).join();
 *     }
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> All methods are thread-safe and never block. Any number of commands may be in flight;
 * each carries a client-generated id and its reply is routed by that id. Reply futures are completed and
 * listeners are called on the {@linkplain QmpClientOptions#callbackExecutor() callback executor}, never on
 * the network thread. Listeners run one at a time, in the order QEMU sent the events.
 *
 * <p><b>Ordering.</b> QEMU may send the events a command causes before the command's reply. Every event is
 * put into every open {@link QmpEventSubscription} on arrival, so by the time a reply future completes, all
 * events QEMU sent before that reply are already in the subscriptions opened before the command.
 *
 * <p><b>Failures.</b> QEMU refusing a command fails its future with {@link QmpErrorException}; a timeout with
 * {@link QmpTimeoutException} (QEMU may still execute the command; the late reply is discarded); a lost
 * connection fails every pending command with {@link QmpConnectionClosedException}; a peer breaking the
 * protocol (malformed JSON, an oversized message) closes the connection with a {@link QmpProtocolException}
 * as the cause.
 */
public final class QmpClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QmpClient.class);
    private static final AtomicInteger CALLBACK_THREADS = new AtomicInteger();
    // QEMU's JSON lexer treats 0xFF as invalid in every state and resets: it neutralizes the unspecified
    // dummy byte Netty sends with a file descriptor (see writeWithFd).
    private static final byte[] LEXER_RESET = {(byte) 0xFF};

    private final String peer;
    private final QmpClientOptions options;
    private final EventLoopGroup group;
    private final boolean ownGroup;
    private final Executor callbacks;
    private final ExecutorService ownCallbacks;
    private final PendingCommands pending;
    private final EventHub events;
    private final CompletableFuture<QmpGreeting> greetingFuture = new CompletableFuture<>();
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private final Object schemaLock = new Object();
    private volatile Channel channel;
    private volatile boolean closed;
    private volatile Throwable closeCause;
    private volatile Set<String> enabledCapabilities = Set.of();
    private CompletableFuture<QmpSchema> schema;

    private QmpClient(String peer, QmpClientOptions options, EventLoopGroup group, boolean ownGroup) {
        this.peer = peer;
        this.options = options;
        this.group = group;
        this.ownGroup = ownGroup;
        if (options.callbackExecutor() != null) {
            this.ownCallbacks = null;
        } else {
            this.ownCallbacks = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "qmp-callback-" + CALLBACK_THREADS.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        Executor base = ownCallbacks != null ? ownCallbacks : options.callbackExecutor();
        this.callbacks = task -> {
            try {
                base.execute(task);
            } catch (RejectedExecutionException e) {
                // After close() the private pool is shut down; late completions run inline instead of vanishing.
                task.run();
            }
        };
        this.pending = new PendingCommands(callbacks);
        this.events = new EventHub(callbacks, options.subscriptionCapacity(), on -> {
            Channel ch = channel;
            if (ch != null) {
                ch.config().setAutoRead(on);
            }
        });
    }

    /**
     * Connects to a QMP unix socket with the default options: a socket that is missing or refuses fails at once
     * (use {@link QmpClientOptions.Builder#retry(boolean)} to wait for a QEMU that is still starting).
     *
     * @param unixSocket the socket QEMU listens on ({@code -qmp unix:PATH,server=on,wait=off})
     * @return the client once the greeting arrived and capabilities were negotiated
     */
    public static CompletableFuture<QmpClient> connect(Path unixSocket) {
        return connect(unixSocket, QmpClientOptions.defaults());
    }

    /**
     * Connects to a QMP unix socket.
     *
     * @param unixSocket the socket path
     * @param options timeouts, limits and threads
     * @return the client once the greeting arrived and capabilities were negotiated; fails with a
     *     {@link QmpException} saying why if the socket is missing, not a socket or refuses (at once, unless
     *     {@link QmpClientOptions#retry()}), and with {@link QmpTimeoutException} if that did not happen within
     *     {@link QmpClientOptions#connectTimeout()}
     */
    public static CompletableFuture<QmpClient> connect(Path unixSocket, QmpClientOptions options) {
        return connect(UnixDomainSocketAddress.of(unixSocket), options);
    }

    /**
     * Connects to a QMP socket: a {@link UnixDomainSocketAddress} or an {@link java.net.InetSocketAddress}
     * ({@code -qmp tcp:HOST:PORT,server=on,wait=off}; TCP cannot pass file descriptors).
     *
     * @param address where QEMU listens
     * @param options timeouts, limits and threads
     * @return the connected, negotiated client
     */
    public static CompletableFuture<QmpClient> connect(SocketAddress address, QmpClientOptions options) {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(options, "options");
        QmpTransport transport;
        try {
            transport = Transports.resolve(options.transport());
        } catch (QmpException e) {
            return CompletableFuture.failedFuture(e);
        }
        boolean unix = address instanceof UnixDomainSocketAddress;
        SocketAddress nettyAddress = unix
                ? Transports.unixAddress(transport, ((UnixDomainSocketAddress) address).getPath()) : address;
        boolean ownGroup = options.eventLoopGroup() == null;
        EventLoopGroup group = ownGroup ? Transports.newGroup(transport) : options.eventLoopGroup();
        QmpClient client = new QmpClient(address.toString(), options, group, ownGroup);
        Bootstrap bootstrap = new Bootstrap().group(group).channel(Transports.channelType(transport, unix))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis()))
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new JsonStreamDecoder(options.maxMessageSize()), client.new Inbound());
                    }
                });
        long deadline = System.nanoTime() + options.connectTimeout().toNanos();
        CompletableFuture<QmpClient> result = new CompletableFuture<>();
        client.attempt(bootstrap, nettyAddress, address, deadline, result, 1);
        return result.whenComplete((c, e) -> {
            if (e != null) {
                client.close();
            }
        });
    }

    private void attempt(Bootstrap bootstrap, SocketAddress address, SocketAddress unixOrTcp, long deadline,
            CompletableFuture<QmpClient> result, int attemptNo) {
        ChannelFuture cf = bootstrap.connect(address);
        cf.addListener(f -> {
            if (f.isSuccess()) {
                channel = cf.channel();
                channel.closeFuture().addListener(x -> onChannelClosed());
                if (closed) {
                    channel.close();
                    result.completeExceptionally(new QmpConnectionClosedException("closed while connecting", null));
                    return;
                }
                handshake(deadline, result);
                return;
            }
            long left = deadline - System.nanoTime();
            if (options.retry() && left > options.retryInterval().toNanos() && !closed) {
                log.debug("QMP connect attempt {} to {} failed ({}); retrying", attemptNo, peer, f.cause().toString());
                group.schedule(() -> attempt(bootstrap, address, unixOrTcp, deadline, result, attemptNo + 1),
                        options.retryInterval().toNanos(), TimeUnit.NANOSECONDS);
            } else if (options.retry()) {
                log.debug("QMP connect to {} gave up after {} attempts: {}", peer, attemptNo, f.cause().toString());
                result.completeExceptionally(new QmpTimeoutException("cannot connect to QMP socket " + peer
                        + " within " + ConnectFailures.words(options.connectTimeout()) + ": "
                        + ConnectFailures.reason(unixOrTcp, f.cause()), options.connectTimeout()));
            } else {
                result.completeExceptionally(new QmpException("cannot connect to QMP socket " + peer + ": "
                        + ConnectFailures.reason(unixOrTcp, f.cause()), f.cause()));
            }
        });
    }

    private void handshake(long deadline, CompletableFuture<QmpClient> result) {
        Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
        ScheduledFuture<?> timer = channel.eventLoop().schedule(() -> {
            greetingFuture.completeExceptionally(new QmpTimeoutException("no QMP greeting from " + peer + " within "
                    + ConnectFailures.words(options.connectTimeout()) + " (a QEMU QMP socket serves one client at a "
                    + "time: is another client connected?)", options.connectTimeout()));
        }, left.toNanos(), TimeUnit.NANOSECONDS);
        greetingFuture.whenComplete((g, e) -> timer.cancel(false));
        greetingFuture.thenCompose(g -> {
            List<String> enable = options.requestOob() && g.offers("oob") ? List.of("oob") : List.of();
            Duration rest = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
            return execute(new Capabilities(enable), rest).thenApply(v -> {
                enabledCapabilities = Set.copyOf(enable);
                return this;
            });
        }).whenComplete((c, e) -> {
            if (e != null) {
                result.completeExceptionally(unwrap(e));
            } else {
                log.debug("QMP connected to {}: QEMU {}, capabilities {}", peer, greeting().version(),
                        enabledCapabilities);
                result.complete(c);
            }
        });
    }

    /** The greeting QEMU sent (version and offered capabilities). */
    public QmpGreeting greeting() {
        return greetingFuture.getNow(null);
    }

    /** The capabilities enabled by negotiation ({@code "oob"} only if offered and requested). */
    public Set<String> enabledCapabilities() {
        return enabledCapabilities;
    }

    /** The options this client was made with. */
    public QmpClientOptions options() {
        return options;
    }

    /** Whether the connection is open. */
    public boolean isOpen() {
        Channel ch = channel;
        return !closed && ch != null && ch.isActive();
    }

    /** Whether this connection can pass file descriptors (epoll transport on a unix socket). */
    public boolean canPassFds() {
        Channel ch = channel;
        return ch != null && Transports.canPassFds(ch);
    }

    /** Completes when the connection has closed, for whatever reason. */
    public CompletableFuture<Void> closeFuture() {
        return closeFuture.thenApply(v -> v);
    }

    /**
     * Sends a typed command with its default timeout.
     *
     * @param <R> the result type
     * @param command the command
     * @return the decoded result
     */
    public <R> CompletableFuture<R> execute(QmpCommand<R> command) {
        Duration t = command.defaultTimeout();
        return execute(command, t != null ? t : options.commandTimeout());
    }

    /**
     * Sends a typed command.
     *
     * @param <R> the result type
     * @param command the command
     * @param timeout how long to wait for the reply
     * @return the decoded result
     */
    public <R> CompletableFuture<R> execute(QmpCommand<R> command, Duration timeout) {
        return send(command, timeout, null);
    }

    /**
     * Sends any command, untyped.
     *
     * @param name the command name
     * @param arguments the arguments, or {@code null} for none
     * @return the {@code return} value
     */
    public CompletableFuture<Json> execute(String name, JsonObject arguments) {
        return execute(QmpCommand.raw(name, arguments));
    }

    /**
     * Passes a file descriptor to QEMU (SCM_RIGHTS on the bytes of the {@code getfd} command) and names it.
     * QEMU dups it; the caller still owns {@code fd} and may close it once the future completes.
     *
     * @param fdname the name, e.g. for {@code migrate fd:NAME}; must not start with a digit
     * @param fd the descriptor
     * @return completes when QEMU has the descriptor
     * @throws QmpException (in the future) if this connection cannot pass descriptors
     */
    public CompletableFuture<Void> getfd(String fdname, FileDescriptor fd) {
        return getfd(fdname, fd.intValue());
    }

    /**
     * Passes a {@link java.io.FileDescriptor} (e.g. {@code FileOutputStream.getFD()}) to QEMU as {@code fdname}.
     * The JDK hides the descriptor number, so this needs {@code --add-opens java.base/java.io=ALL-UNNAMED}
     * (or {@code =org.vmbackup.qmp} on the module path); without it the future fails saying so. Netty's
     * {@link FileDescriptor} (e.g. from {@link FileDescriptor#pipe()}) needs nothing extra.
     *
     * @param fdname the name
     * @param fd the descriptor
     * @return completes when QEMU has the descriptor
     */
    public CompletableFuture<Void> getfd(String fdname, java.io.FileDescriptor fd) {
        int number;
        try {
            number = JdkFileDescriptors.number(fd);
        } catch (QmpException e) {
            return CompletableFuture.failedFuture(e);
        }
        return getfd(fdname, number);
    }

    /**
     * Passes a raw file descriptor number to QEMU as {@code fdname}; see {@link #getfd(String, FileDescriptor)}.
     *
     * @param fdname the name
     * @param fd the descriptor number
     * @return completes when QEMU has the descriptor
     */
    public CompletableFuture<Void> getfd(String fdname, int fd) {
        return send(new FdCommands.Getfd(fdname), options.commandTimeout(), new FileDescriptor(fd));
    }

    /**
     * Passes a file descriptor into an fd set ({@code add-fd}); files can then be opened as
     * {@code /dev/fdset/N}.
     *
     * @param fd the descriptor number
     * @param fdsetId the fd set to add to, or {@code null} for a new one
     * @param opaque a free-form note QEMU keeps, or {@code null}
     * @return the fd set id and QEMU's descriptor number
     */
    public CompletableFuture<FdCommands.AddfdInfo> addFd(int fd, Long fdsetId, String opaque) {
        return send(new FdCommands.AddFd(fdsetId, opaque), options.commandTimeout(), new FileDescriptor(fd));
    }

    /**
     * Calls {@code listener} for every event, in arrival order, on the callback executor.
     *
     * @param listener must not block for long: later events wait for it, and once
     *     {@link QmpClientOptions#subscriptionCapacity()} calls are queued the client stops reading from QEMU
     *     (replies and subscriptions wait too) until half of them have run; with the NIO transport a hang-up
     *     during such a pause shows only when reading resumes or at the commands' timeouts
     * @return closing it removes the listener
     */
    public AutoCloseable addListener(Consumer<? super QmpEvent> listener) {
        return events.addListener(listener);
    }

    /**
     * Opens a subscription queueing every event that matches {@code filter}, starting now. Open it before
     * sending the command whose events you want.
     *
     * @param filter which events to keep (runs on the network thread: keep it cheap and non-blocking)
     * @return the subscription; close it when done
     */
    public QmpEventSubscription subscribe(Predicate<? super QmpEvent> filter) {
        Channel ch = channel;
        return events.subscribe(filter, ch != null ? ch.eventLoop() : group.next());
    }

    /** Opens a subscription to all events. */
    public QmpEventSubscription subscribe() {
        return subscribe(e -> true);
    }

    /**
     * Reads {@code query-qmp-schema} once (it is large) and answers which commands, arguments and enum values
     * this QEMU has. Later calls return the same future.
     *
     * @return the schema index
     */
    public CompletableFuture<QmpSchema> schema() {
        synchronized (schemaLock) {
            if (schema == null || schema.isCompletedExceptionally()) {
                schema = execute(new QueryCommands.QueryQmpSchema())
                        .thenApply(s -> new QmpSchema(greeting().version(), s));
            }
            return schema;
        }
    }

    /**
     * Closes the connection. Pending commands fail with {@link QmpConnectionClosedException}; a private event
     * loop and callback pool are shut down. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
        failEverything(closedException("closed by the client", null));
        greetingFuture.completeExceptionally(closedException("closed by the client", null));
        if (ownGroup) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (ownCallbacks != null) {
            ownCallbacks.shutdown();
        }
        closeFuture.complete(null);
    }

    /** Listener calls queued and not yet run (tests watch the bound). */
    int listenerBacklog() {
        return events.listenerBacklog();
    }

    // --- sending

    private <R> CompletableFuture<R> send(QmpCommand<R> command, Duration timeout, FileDescriptor fd) {
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(timeout, "timeout");
        CompletableFuture<R> future = new CompletableFuture<>();
        Channel ch = channel;
        if (closed || ch == null) {
            future.completeExceptionally(closedException("cannot send " + command.name(), closeCause));
            return future;
        }
        if (fd != null && !Transports.canPassFds(ch)) {
            future.completeExceptionally(new QmpException(command.name() + " needs file-descriptor passing, which "
                    + "needs a unix socket with the epoll transport (this connection: " + ch.getClass().getSimpleName()
                    + ")"));
            return future;
        }
        long seq = pending.nextSequence();
        byte[] bytes;
        try {
            bytes = QmpRequestEncoder.encode(command, PendingCommands.wireId(seq));
        } catch (RuntimeException e) {
            future.completeExceptionally(new QmpException("cannot serialize " + command.name() + ": " + e, e));
            return future;
        }
        PendingCommands.Entry<R> p = pending.add(seq, command, future, fd != null);
        if (closed) {
            // close() may have swept the pending commands before the add above.
            if (pending.remove(seq, p)) {
                pending.fail(p, closedException("cannot send " + command.name(), closeCause));
            }
            return future;
        }
        Runnable timeoutTask = () -> {
            if (pending.remove(seq, p)) {
                log.debug("QMP command {} ({}) timed out after {}; a late reply will be discarded",
                        command.name(), PendingCommands.wireId(seq), timeout);
                pending.fail(p, new QmpTimeoutException("no reply to " + command.name() + " from " + peer
                        + " within " + ConnectFailures.words(timeout), timeout));
            }
        };
        // One event-loop task arms the timer and writes: a single wake-up of the network thread per command.
        ch.eventLoop().execute(() -> {
            p.timer = ch.eventLoop().schedule(timeoutTask, saturatedNanos(timeout), TimeUnit.NANOSECONDS);
            if (fd != null) {
                writeWithFd(ch, fd, bytes, seq, p);
            } else {
                ch.writeAndFlush(Unpooled.wrappedBuffer(bytes)).addListener(f -> onWriteDone(f.cause(), seq, p));
            }
        });
        return future;
    }

    /**
     * Netty sends a descriptor with one dummy byte of unspecified value (stack garbage in its native code).
     * QEMU's lexer sees that byte before the command, so it is followed by 0xFF, which QEMU's lexer rejects in
     * every state: the lexer resets, whatever the dummy byte began. QEMU answers the one or two stray bytes
     * with id-less "JSON parse error" replies, which are ignored while a descriptor command is in flight. The
     * three writes run in one event-loop task, so no other command can come between them.
     */
    private void writeWithFd(Channel ch, FileDescriptor fd, byte[] bytes, long seq, PendingCommands.Entry<?> p) {
        ch.write(fd).addListener(f -> {
            if (!f.isSuccess()) {
                onWriteDone(f.cause(), seq, p);
            }
        });
        ch.write(Unpooled.wrappedBuffer(LEXER_RESET));
        ch.writeAndFlush(Unpooled.wrappedBuffer(bytes)).addListener(f -> onWriteDone(f.cause(), seq, p));
    }

    private void onWriteDone(Throwable cause, long seq, PendingCommands.Entry<?> p) {
        if (cause != null) {
            pending.unsent(seq);
        }
        if (cause != null && pending.remove(seq, p)) {
            pending.fail(p, closedException("cannot send " + p.name(), cause));
        }
    }

    // --- receiving (network thread)

    private void onMessage(JsonObject m) {
        if (closed) {
            return;
        }
        if (!greetingFuture.isDone()) {
            if (m.get("QMP") == null) {
                throw new QmpProtocolException("expected the QMP greeting from " + peer + " but got "
                        + JsonCodec.abbreviate(m));
            }
            greetingFuture.complete(QmpGreeting.decode(m));
            return;
        }
        if (m.get("event") != null) {
            onEvent(m);
            return;
        }
        Json id = m.get("id");
        if (id == null) {
            onIdlessReply(m);
            return;
        }
        Long seq = PendingCommands.parseId(id);
        PendingCommands.Entry<?> p = seq == null ? null : pending.take(seq);
        if (p == null) {
            log.debug("discarding QMP reply with unknown or expired id {} from {}", id, peer);
            return;
        }
        pending.complete(p, m);
    }

    private void onEvent(JsonObject m) {
        QmpEvent event;
        try {
            event = QmpEventDecoder.decode(m);
        } catch (RuntimeException e) {
            log.warn("undecodable QMP event from {} delivered raw: {}", peer, e.toString());
            Json data = m.get("data");
            event = new QmpEvent.Raw(String.valueOf(m.get("event")), data == null ? JsonObject.EMPTY : data, null);
        }
        events.dispatch(event);
    }

    /**
     * QEMU replies without id only when it could not parse a request. This client sends only well-formed
     * commands, so such an error comes either from the dummy byte of a descriptor transfer (ignored) or from
     * the oldest outstanding request, because QEMU handles in-band requests in order.
     */
    private void onIdlessReply(JsonObject m) {
        Json error = m.get("error");
        String desc = error instanceof JsonObject e ? e.opt("desc").map(Json::toString).orElse("") : "";
        if (error instanceof JsonObject e && pending.fdTransferInFlight()
                && e.opt("desc").map(Json::asString).orElse("").startsWith("JSON parse error")) {
            log.debug("ignoring QEMU's parse error for the fd-passing byte: {}", desc);
            return;
        }
        if (error == null) {
            log.warn("QEMU {} sent a message this client does not understand: {}", peer, JsonCodec.abbreviate(m));
            return;
        }
        PendingCommands.Entry<?> oldest = pending.takeOldest();
        if (oldest == null) {
            log.warn("QEMU {} sent an error without id while no command was pending: {}", peer,
                    JsonCodec.abbreviate(m));
            return;
        }
        log.warn("QEMU {} sent an error without id; attributing it to the oldest pending command {}", peer,
                oldest.name());
        pending.complete(oldest, m);
    }

    private void onProtocolError(Throwable cause) {
        if (closeCause == null) {
            closeCause = cause;
        }
        log.warn("closing QMP connection to {}: {}", peer, cause.getMessage());
        greetingFuture.completeExceptionally(cause);
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    private void onChannelClosed() {
        QmpConnectionClosedException e = closedException(closed ? "closed by the client" : "QEMU closed the QMP "
                + "connection", closeCause);
        greetingFuture.completeExceptionally(e);
        failEverything(e);
        closeFuture.complete(null);
    }

    private void failEverything(QmpConnectionClosedException e) {
        for (PendingCommands.Entry<?> p : pending.takeAll()) {
            pending.fail(p, closedException(p.name() + " got no reply: " + e.getMessage(), e.getCause()));
        }
        events.disconnected(e);
    }

    private QmpConnectionClosedException closedException(String what, Throwable cause) {
        String why = cause == null ? "" : " (" + cause.getMessage() + ")";
        return new QmpConnectionClosedException(what + " [QMP " + peer + "]" + why, cause);
    }

    /**
     * Nanoseconds, at most Long.MAX_VALUE: toNanos() throws for a timeout beyond 292 years (e.g. a caller's
     * "forever"), and thrown in the event-loop task it left the command unsent and its future pending for ever.
     */
    static long saturatedNanos(Duration d) {
        return d.compareTo(Duration.ofNanos(Long.MAX_VALUE)) > 0 ? Long.MAX_VALUE : d.toNanos();
    }

    private static Throwable unwrap(Throwable e) {
        while (e instanceof CompletionException && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /** Routes channel events to the client; runs on the network thread. */
    private final class Inbound extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            // Set here, not in the connect listener: the greeting can be read before that listener runs.
            channel = ctx.channel();
            super.channelActive(ctx);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (ctx.channel() != channel) {
                return;
            }
            try {
                onMessage((JsonObject) msg);
            } catch (QmpProtocolException e) {
                onProtocolError(e);
            } catch (RuntimeException e) {
                onProtocolError(new QmpProtocolException("cannot handle QMP message: " + e, e));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ctx.channel() != channel) {
                ctx.close();
                return;
            }
            if (cause instanceof java.io.IOException) {
                // A reset when QEMU exits is an ordinary end of the connection, not a protocol problem.
                log.debug("QMP connection to {} failed: {}", peer, cause.toString());
                if (closeCause == null) {
                    closeCause = cause;
                }
                ctx.close();
                return;
            }
            onProtocolError(cause instanceof QmpException ? cause
                    : new QmpConnectionClosedException("QMP connection error: " + cause, cause));
        }
    }

    /** The internal {@code qmp_capabilities} command, sent during connect. */
    private record Capabilities(List<String> enable) implements QmpCommand<Void> {
        @Override
        public String name() {
            return "qmp_capabilities";
        }

        @Override
        public void writeArguments(JsonGenerator gen) throws IOException {
            if (!enable.isEmpty()) {
                gen.writeArrayFieldStart("enable");
                for (String c : enable) {
                    gen.writeString(c);
                }
                gen.writeEndArray();
            }
        }

        @Override
        public Void decode(Json result) {
            return null;
        }
    }
}
