package org.vmbackup.qmp.internal;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.vmbackup.qmp.QmpException;
import org.vmbackup.qmp.QmpTransport;

/** Picks the Netty channel type and address form for a transport; the only place that knows them. */
public final class Transports {
    private static final AtomicInteger THREADS = new AtomicInteger();

    private Transports() {
    }

    /** Resolves {@link QmpTransport#AUTO} to epoll when the native library loads. */
    public static QmpTransport resolve(QmpTransport requested) {
        if (requested == QmpTransport.EPOLL && !Epoll.isAvailable()) {
            throw new QmpException("the epoll transport is not available: " + Epoll.unavailabilityCause());
        }
        if (requested == QmpTransport.AUTO) {
            return Epoll.isAvailable() ? QmpTransport.EPOLL : QmpTransport.NIO;
        }
        return requested;
    }

    /** A one-thread event loop group for a client that does not share one. */
    public static EventLoopGroup newGroup(QmpTransport transport) {
        IoHandlerFactory f = transport == QmpTransport.EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "qmp-io-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        return new MultiThreadIoEventLoopGroup(1, threads, f);
    }

    /** The channel class for an address kind. */
    public static Class<? extends Channel> channelType(QmpTransport transport, boolean unix) {
        if (transport == QmpTransport.EPOLL) {
            return unix ? EpollDomainSocketChannel.class : EpollSocketChannel.class;
        }
        return unix ? NioDomainSocketChannel.class : NioSocketChannel.class;
    }

    /** The Netty address for a unix socket path. */
    public static SocketAddress unixAddress(QmpTransport transport, Path path) {
        return transport == QmpTransport.EPOLL ? new DomainSocketAddress(path.toString())
                : UnixDomainSocketAddress.of(path);
    }

    /** Whether a channel can carry SCM_RIGHTS file descriptors. */
    public static boolean canPassFds(Channel channel) {
        return channel instanceof EpollDomainSocketChannel;
    }
}
