package org.vmbackup.nbd;

import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.nbd.internal.NbdConstants;

/**
 * The I/O threads NBD servers run on: one group can be shared by any number of {@link NbdServer}s in a JVM.
 * Uses Linux's native epoll transport when it loads, Java NIO otherwise (both serve unix sockets and TCP).
 *
 * <p>Whoever creates the group closes it, after the servers using it are closed.
 */
public final class NbdEventLoop implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NbdEventLoop.class);

    /** Graceful shutdown takes up to 2 s (its timeout); more means a thread is stuck in a task. */
    static final long CLOSE_WAIT_SECONDS = 30;

    private final EventLoopGroup group;
    private final boolean nativeTransport;

    private NbdEventLoop(int threads, boolean allowNative) {
        this.nativeTransport = allowNative && Epoll.isAvailable();
        IoHandlerFactory factory = nativeTransport ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("nbd-io", true), factory);
        // Each I/O thread sets up its buffer cache and arena chunk now rather than inside its first client's
        // requests (a new thread's first allocation maps and zero-fills a chunk, in code the JIT has not compiled).
        for (EventExecutor thread : group) {
            thread.execute(() -> PooledByteBufAllocator.DEFAULT.directBuffer(NbdConstants.REQUEST_HEADER_SIZE)
                    .release());
        }
        if (!nativeTransport && allowNative) {
            log.debug("native epoll unavailable, using NIO: {}", String.valueOf(Epoll.unavailabilityCause()));
        }
    }

    /** A group with Netty's default thread count (two per core), native epoll where available. */
    public static NbdEventLoop create() {
        return new NbdEventLoop(0, true);
    }

    /**
     * A group with the given number of threads.
     *
     * @param threads I/O threads, or 0 for Netty's default (two per core)
     * @param allowNative whether to use native epoll when it loads (false forces NIO)
     */
    public static NbdEventLoop create(int threads, boolean allowNative) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0: " + threads);
        }
        return new NbdEventLoop(threads, allowNative);
    }

    /** Whether the native epoll transport is in use. */
    public boolean isNative() {
        return nativeTransport;
    }

    /** The Netty group, for embedders that run their own channels on the same threads. */
    public EventLoopGroup group() {
        return group;
    }

    Class<? extends ServerChannel> unixServerChannel() {
        return nativeTransport ? EpollServerDomainSocketChannel.class : NioServerDomainSocketChannel.class;
    }

    Class<? extends ServerChannel> tcpServerChannel() {
        return nativeTransport ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** Shuts the threads down gracefully; the future completes when they have stopped. */
    public CompletableFuture<Void> closeAsync() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).addListener(f -> done.complete(null));
        return done;
    }

    /**
     * Shuts the threads down and waits for them, at most {@link #CLOSE_WAIT_SECONDS}: a thread stuck in a task
     * (a backend that blocks) must not hold its closer for ever; it is logged and left to end on its own.
     */
    @Override
    public void close() {
        try {
            closeAsync().get(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("NBD event loop threads still busy {} s after shutdown: {}", CLOSE_WAIT_SECONDS, e.toString());
        }
    }
}
