package org.vmbackup.qmp.agent;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonArray;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.JsonString;
import org.vmbackup.qmp.QmpConnectionClosedException;
import org.vmbackup.qmp.QmpErrorException;
import org.vmbackup.qmp.QmpException;
import org.vmbackup.qmp.QmpProtocolException;
import org.vmbackup.qmp.QmpTimeoutException;

/**
 * A client for the QEMU guest agent (qemu-ga) on the host end of its virtio-serial channel, a unix socket
 * ({@code -chardev socket,path=P,server=on,wait=off,id=qga0 -device virtserialport,chardev=qga0,
 * name=org.qemu.guest_agent.0}).
 *
 * <p>The agent speaks QMP's JSON without a greeting, capabilities or ids, and the channel keeps whatever an
 * earlier client or a timed-out call left in it. So every call first resynchronises: it sends
 * {@code guest-sync-delimited} with a random id, drops everything up to the agent's 0xFF delimiter and every
 * stale reply until the one carrying that id, and only then sends the command and reads its reply. Calls run
 * one at a time (the agent handles one), each within its timeout.
 *
 * <p>Failures, as with {@link org.vmbackup.qmp.QmpClient}: {@link QmpErrorException} (the agent refused; e.g.
 * class {@code CommandNotFound} for a command disabled while frozen), {@link QmpTimeoutException} (the agent is
 * silent: not running in the guest, or the guest is stopped), {@link QmpConnectionClosedException},
 * {@link QmpProtocolException}.
 *
 * <pre>{@code
 * try (GuestAgentClient qga = GuestAgentClient.builder(socket).timeout(Duration.ofSeconds(10)).connect().join()) {
 *     int frozen = qga.freeze().join();
 *     try {
 *         // the consistent instant
 *     } finally {
 *         qga.thaw().join();
 *     }
 * }
 * }</pre>
 */
public final class GuestAgentClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GuestAgentClient.class);

    private final Path socket;
    private final Builder config;
    private final SocketChannel channel;
    private final Selector selector;
    private final ExecutorService executor;
    private final QgaDecoder decoder;
    private final Queue<QgaDecoder.Item> received = new ArrayDeque<>();
    private final ByteBuffer readBuffer = ByteBuffer.allocate(64 * 1024);
    private volatile boolean closed;

    private GuestAgentClient(Path socket, Builder config, SocketChannel channel, Selector selector) {
        this.socket = socket;
        this.config = config;
        this.channel = channel;
        this.selector = selector;
        this.decoder = new QgaDecoder(config.maxMessageBytes);
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "qga-client " + socket.getFileName());
            t.setDaemon(true);
            return t;
        });
    }

    /** A builder for a client of the agent behind {@code socket}. */
    public static Builder builder(Path socket) {
        return new Builder(Objects.requireNonNull(socket));
    }

    /** Connects with the default settings; see {@link Builder#connect()}. */
    public static CompletableFuture<GuestAgentClient> connect(Path socket) {
        return builder(socket).connect();
    }

    /** The socket this client talks to. */
    public Path socket() {
        return socket;
    }

    /** The timeout of calls that do not name one. */
    public Duration timeout() {
        return config.timeout;
    }

    /** Whether {@link #close()} was called or the connection broke. */
    public boolean isOpen() {
        return !closed && channel.isOpen();
    }

    /** {@code guest-ping}: completes when the agent answers. */
    public CompletableFuture<Void> ping() {
        return call("guest-ping", null, config.timeout, r -> null);
    }

    /** {@code guest-info}: the agent's version and commands. */
    public CompletableFuture<GuestAgentInfo> info() {
        return call("guest-info", null, config.timeout, GuestAgentInfo::decode);
    }

    /** {@code guest-fsfreeze-status}. */
    public CompletableFuture<GuestFsFreezeStatus> freezeStatus() {
        return call("guest-fsfreeze-status", null, config.timeout, r -> GuestFsFreezeStatus.fromWire(r.asString()));
    }

    /** {@code guest-fsfreeze-freeze} within the freeze timeout: the number of file systems frozen. */
    public CompletableFuture<Integer> freeze() {
        return freeze(config.freezeTimeout);
    }

    /**
     * {@code guest-fsfreeze-freeze}: flushes and freezes every freezable file system in the guest; returns how
     * many. On a timeout the guest may still freeze them: thaw (or check the status) afterwards.
     */
    public CompletableFuture<Integer> freeze(Duration timeout) {
        return call("guest-fsfreeze-freeze", null, timeout, Json::asInt);
    }

    /** {@code guest-fsfreeze-freeze-list}: freezes the file systems mounted at {@code mountpoints}; returns how many. */
    public CompletableFuture<Integer> freezeList(List<String> mountpoints, Duration timeout) {
        JsonObject args = JsonObject.builder()
                .put("mountpoints", new JsonArray(mountpoints.stream().map(m -> (Json) new JsonString(m)).toList()))
                .build();
        return call("guest-fsfreeze-freeze-list", args, timeout, Json::asInt);
    }

    /** {@code guest-fsfreeze-thaw} within the freeze timeout: the number of file systems thawed. */
    public CompletableFuture<Integer> thaw() {
        return thaw(config.freezeTimeout);
    }

    /** {@code guest-fsfreeze-thaw}: the number of file systems thawed (0 when none was frozen). */
    public CompletableFuture<Integer> thaw(Duration timeout) {
        return call("guest-fsfreeze-thaw", null, timeout, Json::asInt);
    }

    /** Any agent command that replies, untyped: its {@code return} value. */
    public CompletableFuture<Json> execute(String command, JsonObject arguments, Duration timeout) {
        return call(command, arguments, timeout, Function.identity());
    }

    /** Closes the connection; calls still waiting fail with {@link QmpConnectionClosedException}. */
    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("closing {}: {}", socket, e.toString());
        }
        selector.wakeup();
        try {
            // The selector is closed by the call thread, after a call that may still be selecting on it.
            executor.execute(() -> {
                try {
                    selector.close();
                } catch (IOException e) {
                    log.debug("closing the selector of {}: {}", socket, e.toString());
                }
            });
        } catch (RejectedExecutionException e) {
            // closed before
        }
        executor.shutdown();
    }

    private <R> CompletableFuture<R> call(String command, JsonObject arguments, Duration timeout,
            Function<Json, R> decode) {
        Objects.requireNonNull(timeout, "timeout");
        if (closed) {
            return CompletableFuture.failedFuture(new QmpConnectionClosedException(
                    "the guest agent client for " + socket + " is closed", null));
        }
        try {
            return CompletableFuture.supplyAsync(() -> {
                long deadline = System.nanoTime() + timeout.toNanos();
                sync(command, deadline, timeout);
                Json result = exchange(command, arguments, deadline, timeout);
                return decode.apply(result);
            }, executor);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new QmpConnectionClosedException(
                    "the guest agent client for " + socket + " is closed", e));
        }
    }

    private CompletableFuture<Void> handshake(Duration timeout) {
        try {
            return CompletableFuture.runAsync(() -> sync("connect", System.nanoTime() + timeout.toNanos(), timeout),
                    executor);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new QmpConnectionClosedException(
                    "the guest agent client for " + socket + " is closed", e));
        }
    }

    /** Resynchronises: after this, the next value the agent sends is the reply to the next request. */
    private void sync(String forCommand, long deadline, Duration timeout) {
        long id = ThreadLocalRandom.current().nextLong(1, Integer.MAX_VALUE);
        send(JsonObject.builder().put("execute", "guest-sync-delimited")
                .put("arguments", JsonObject.builder().put("id", id).build()).build(), forCommand, timeout);
        while (true) {
            QgaDecoder.Item item = next(deadline, timeout, "guest-sync-delimited (before " + forCommand + ")");
            if (item instanceof QgaDecoder.Value v && v.json() instanceof JsonObject o && o.get("return") != null
                    && o.get("return").toJson().equals(Long.toString(id))) {
                return;
            }
            // A late reply to an earlier call, or noise: the agent's stream before our sync reply is stale.
            log.debug("guest agent {}: discarding {} while synchronising", socket, item);
        }
    }

    private Json exchange(String command, JsonObject arguments, long deadline, Duration timeout) {
        send(JsonObject.builder().put("execute", command).put("arguments", arguments).build(), command, timeout);
        QgaDecoder.Item item = next(deadline, timeout, command);
        if (item instanceof QgaDecoder.Garbage g) {
            throw new QmpProtocolException("the guest agent answered " + command + " with " + g.why());
        }
        Json reply = ((QgaDecoder.Value) item).json();
        if (!(reply instanceof JsonObject o)) {
            throw new QmpProtocolException("the guest agent answered " + command + " with a JSON " + reply.typeName());
        }
        Json error = o.get("error");
        if (error != null) {
            throw new QmpErrorException(error.opt("class").map(Json::asString).orElse("GenericError"),
                    error.opt("desc").map(Json::asString).orElse(""), command);
        }
        Json result = o.get("return");
        if (result == null) {
            throw new QmpProtocolException("the guest agent's reply to " + command + " has neither return nor error: "
                    + o.toJson());
        }
        return result;
    }

    private void send(JsonObject request, String command, Duration timeout) {
        ByteBuffer buf = ByteBuffer.wrap((request.toJson() + "\n").getBytes(StandardCharsets.UTF_8));
        log.debug("guest agent {} <- {}", socket, request.toJson());
        try {
            // A few hundred bytes always fit in the socket buffer; a full one means the agent has stopped reading.
            while (buf.hasRemaining()) {
                if (channel.write(buf) == 0) {
                    throw new QmpTimeoutException("the guest agent on " + socket + " does not read (sending "
                            + command + ")", timeout);
                }
            }
        } catch (IOException e) {
            throw closedWhile(command, e);
        }
    }

    private QgaDecoder.Item next(long deadline, Duration timeout, String waitingFor) {
        while (received.isEmpty()) {
            long remainingMs = (deadline - System.nanoTime()) / 1_000_000;
            if (remainingMs <= 0) {
                throw new QmpTimeoutException("no reply from the guest agent on " + socket + " to " + waitingFor
                        + " within " + timeout + " (is qemu-ga running in the guest, and the guest running?)", timeout);
            }
            try {
                selector.select(remainingMs);
                if (closed) {
                    throw new ClosedChannelException();
                }
                selector.selectedKeys().clear();
                readBuffer.clear();
                int n = channel.read(readBuffer);
                if (n < 0) {
                    throw new QmpConnectionClosedException("the guest agent's socket " + socket
                            + " closed while waiting for the reply to " + waitingFor + " (QEMU exited?)", null);
                }
                if (n > 0) {
                    received.addAll(decoder.feed(readBuffer.array(), 0, n));
                }
            } catch (IOException e) {
                throw closedWhile(waitingFor, e);
            }
        }
        QgaDecoder.Item item = received.remove();
        log.debug("guest agent {} -> {}", socket, item);
        return item;
    }

    private QmpException closedWhile(String what, IOException e) {
        return new QmpConnectionClosedException("the connection to the guest agent on " + socket + " broke during "
                + what + ": " + e, e);
    }

    /** Unwraps the {@link CompletionException} of a joined call, for callers that want the typed exception. */
    public static RuntimeException unwrap(Throwable t) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        return c instanceof RuntimeException r ? r : new CompletionException(c);
    }

    /**
     * How to connect. Immutable in use: {@link #connect()} copies the settings.
     */
    public static final class Builder {
        private final Path socket;
        private Duration timeout = Duration.ofSeconds(10);
        private Duration freezeTimeout = Duration.ofSeconds(60);
        private Duration connectTimeout = Duration.ofSeconds(10);
        private int maxMessageBytes = 16 << 20;

        private Builder(Path socket) {
            this.socket = socket;
        }

        private Builder copy() {
            Builder b = new Builder(socket);
            b.timeout = timeout;
            b.freezeTimeout = freezeTimeout;
            b.connectTimeout = connectTimeout;
            b.maxMessageBytes = maxMessageBytes;
            return b;
        }

        /** The timeout of each call that names none (default 10 s), synchronisation included. */
        public Builder timeout(Duration timeout) {
            this.timeout = positive(timeout);
            return this;
        }

        /**
         * The default timeout of freeze and thaw (default 60 s): freezing flushes every file system first, which
         * takes as long as the guest's dirty data needs.
         */
        public Builder freezeTimeout(Duration timeout) {
            this.freezeTimeout = positive(timeout);
            return this;
        }

        /**
         * How long {@link #connect()} waits for the agent to answer its first synchronisation (default 10 s): a
         * request sent while the guest boots is held and answered once qemu-ga starts.
         */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout);
            return this;
        }

        /** The largest reply accepted (default 16 MiB). */
        public Builder maxMessageBytes(int bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("maxMessageBytes must be positive: " + bytes);
            }
            this.maxMessageBytes = bytes;
            return this;
        }

        /**
         * Connects to the socket and synchronises with the agent once; completes with the client, or fails with
         * {@link QmpConnectionClosedException} (no socket / nobody listening) or {@link QmpTimeoutException} (the
         * agent did not answer within the connect timeout).
         */
        public CompletableFuture<GuestAgentClient> connect() {
            Builder config = copy();
            GuestAgentClient client;
            try {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    // Non-blocking: while QEMU's chardev serves another client it accepts nobody, and once its
                    // listen backlog is full a blocking connect waited for ever, on the caller's thread. Now the
                    // kernel's "try again" fails the connect at once.
                    ch.configureBlocking(false);
                    Selector selector = Selector.open();
                    try {
                        if (!ch.connect(UnixDomainSocketAddress.of(socket))) {
                            ch.register(selector, SelectionKey.OP_CONNECT);
                            if (selector.select(Math.max(1, config.connectTimeout.toMillis())) == 0
                                    || !ch.finishConnect()) {
                                throw new java.net.SocketTimeoutException("connect not finished within "
                                        + config.connectTimeout);
                            }
                            selector.selectedKeys().clear();
                        }
                        ch.register(selector, SelectionKey.OP_READ);
                    } catch (IOException | RuntimeException e) {
                        selector.close();
                        throw e;
                    }
                    client = new GuestAgentClient(socket, config, ch, selector);
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    throw e;
                }
            } catch (IOException e) {
                return CompletableFuture.failedFuture(new QmpConnectionClosedException(
                        "cannot connect to the guest agent socket " + socket + ": " + e, e));
            }
            return client.handshake(config.connectTimeout).thenApply(v -> client)
                    .whenComplete((c, e) -> {
                        if (e != null) {
                            client.close();
                        }
                    });
        }

        private static Duration positive(Duration d) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("timeout must be positive: " + d);
            }
            return d;
        }
    }
}
