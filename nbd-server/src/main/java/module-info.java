/** Netty NBD server with pluggable export backends. */
module org.vmbackup.nbd {
    requires io.netty.common;
    requires io.netty.buffer;
    requires io.netty.transport;
    requires io.netty.codec;
    requires io.netty.handler;
    requires io.netty.transport.unix.common;
    requires io.netty.transport.classes.epoll;
    requires org.slf4j;
    requires java.management; // NbdWarmUp waits for the JIT to go idle
    exports org.vmbackup.nbd;
    exports org.vmbackup.nbd.backend;
}
