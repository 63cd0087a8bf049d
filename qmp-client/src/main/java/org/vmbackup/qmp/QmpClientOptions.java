package org.vmbackup.qmp;

import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Immutable settings of a {@link QmpClient}. Build with {@link #builder()}; {@link #defaults()} are fine for a
 * local QEMU.
 */
public final class QmpClientOptions {
    /** How long {@code connect} may take, including the greeting and, with {@link #retry()}, retries: 10 s. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** Pause between connection attempts: 50 ms. */
    public static final Duration DEFAULT_RETRY_INTERVAL = Duration.ofMillis(50);
    /** Default per-command timeout: 60 s (QMP commands run in QEMU's main loop; most take milliseconds). */
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(60);
    /** Largest message accepted from QEMU: 16 MiB ({@code query-qmp-schema} is a few hundred KiB). */
    public static final int DEFAULT_MAX_MESSAGE_SIZE = 16 << 20;
    /** Unread events a subscription may hold before it fails: 100 000. */
    public static final int DEFAULT_SUBSCRIPTION_CAPACITY = 100_000;

    private static final QmpClientOptions DEFAULTS = builder().build();

    private final Duration connectTimeout;
    private final Duration retryInterval;
    private final boolean retry;
    private final Duration commandTimeout;
    private final int maxMessageSize;
    private final int subscriptionCapacity;
    private final boolean requestOob;
    private final QmpTransport transport;
    private final EventLoopGroup eventLoopGroup;
    private final Executor callbackExecutor;

    private QmpClientOptions(Builder b) {
        this.connectTimeout = b.connectTimeout;
        this.retryInterval = b.retryInterval;
        this.retry = b.retry;
        this.commandTimeout = b.commandTimeout;
        this.maxMessageSize = b.maxMessageSize;
        this.subscriptionCapacity = b.subscriptionCapacity;
        this.requestOob = b.requestOob;
        this.transport = b.transport;
        this.eventLoopGroup = b.eventLoopGroup;
        this.callbackExecutor = b.callbackExecutor;
    }

    /** The default options. */
    public static QmpClientOptions defaults() {
        return DEFAULTS;
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.connectTimeout = connectTimeout;
        b.retryInterval = retryInterval;
        b.retry = retry;
        b.commandTimeout = commandTimeout;
        b.maxMessageSize = maxMessageSize;
        b.subscriptionCapacity = subscriptionCapacity;
        b.requestOob = requestOob;
        b.transport = transport;
        b.eventLoopGroup = eventLoopGroup;
        b.callbackExecutor = callbackExecutor;
        return b;
    }

    /** Total time for connecting, including retries, the greeting and capability negotiation. */
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** Pause between connection attempts. */
    public Duration retryInterval() {
        return retryInterval;
    }

    /**
     * Whether a refused or missing socket is retried until {@link #connectTimeout()} (default false: it fails at
     * once, so a wrong path is reported at once; ask for retries when QEMU is being started concurrently).
     */
    public boolean retry() {
        return retry;
    }

    /** Timeout for commands that do not set their own. */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /** Largest JSON message accepted from QEMU, in bytes; a bigger one fails the connection. */
    public int maxMessageSize() {
        return maxMessageSize;
    }

    /** How many unread events a {@link QmpEventSubscription} holds before it fails. */
    public int subscriptionCapacity() {
        return subscriptionCapacity;
    }

    /** Whether to enable the {@code oob} capability when QEMU offers it (default false). */
    public boolean requestOob() {
        return requestOob;
    }

    /** The Netty transport. */
    public QmpTransport transport() {
        return transport;
    }

    /** A shared event loop group (not shut down by the client), or {@code null} for a private one. */
    public EventLoopGroup eventLoopGroup() {
        return eventLoopGroup;
    }

    /** Where futures are completed and listeners called, or {@code null} for a private thread pool. */
    public Executor callbackExecutor() {
        return callbackExecutor;
    }

    /** Builds {@link QmpClientOptions}. Not thread-safe. */
    public static final class Builder {
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration retryInterval = DEFAULT_RETRY_INTERVAL;
        private boolean retry;
        private Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;
        private int maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
        private int subscriptionCapacity = DEFAULT_SUBSCRIPTION_CAPACITY;
        private boolean requestOob;
        private QmpTransport transport = QmpTransport.AUTO;
        private EventLoopGroup eventLoopGroup;
        private Executor callbackExecutor;

        private Builder() {
        }

        /** Total connect time including retries, greeting and negotiation (default 10 s). */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout, "connectTimeout");
            return this;
        }

        /** Pause between connection attempts (default 50 ms). */
        public Builder retryInterval(Duration interval) {
            this.retryInterval = positive(interval, "retryInterval");
            return this;
        }

        /**
         * Whether to retry while the socket is missing or refuses connections, until {@link #connectTimeout}
         * (default false: fail at once with the reason; true waits for a QEMU that is still starting).
         */
        public Builder retry(boolean retry) {
            this.retry = retry;
            return this;
        }

        /** Default command timeout (default 60 s). */
        public Builder commandTimeout(Duration timeout) {
            this.commandTimeout = positive(timeout, "commandTimeout");
            return this;
        }

        /** Largest accepted message in bytes, at least 16 MiB (default 16 MiB). */
        public Builder maxMessageSize(int bytes) {
            if (bytes < DEFAULT_MAX_MESSAGE_SIZE) {
                throw new IllegalArgumentException("maxMessageSize must be at least " + DEFAULT_MAX_MESSAGE_SIZE
                        + " bytes (query-qmp-schema is large): " + bytes);
            }
            this.maxMessageSize = bytes;
            return this;
        }

        /** Unread events per subscription before it fails (default 100 000). */
        public Builder subscriptionCapacity(int events) {
            if (events <= 0) {
                throw new IllegalArgumentException("subscriptionCapacity must be positive: " + events);
            }
            this.subscriptionCapacity = events;
            return this;
        }

        /** Enable {@code oob} if QEMU offers it (default false: backup needs no out-of-band commands). */
        public Builder requestOob(boolean requestOob) {
            this.requestOob = requestOob;
            return this;
        }

        /** The Netty transport (default {@link QmpTransport#AUTO}). */
        public Builder transport(QmpTransport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /**
         * Shares an event loop group with other clients or servers. It must match the transport
         * (an epoll group for {@link QmpTransport#EPOLL} and for {@link QmpTransport#AUTO} where epoll is
         * available, an NIO group for {@link QmpTransport#NIO}). The client never shuts a shared group down.
         */
        public Builder eventLoopGroup(EventLoopGroup group) {
            this.eventLoopGroup = group;
            return this;
        }

        /**
         * Where reply futures are completed and listeners run. The default is a private pool of daemon threads,
         * so a caller blocking in a callback never stalls the network thread.
         */
        public Builder callbackExecutor(Executor executor) {
            this.callbackExecutor = executor;
            return this;
        }

        /** The options. */
        public QmpClientOptions build() {
            return new QmpClientOptions(this);
        }

        private static Duration positive(Duration d, String what) {
            Objects.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " must be positive: " + d);
            }
            return d;
        }
    }
}
