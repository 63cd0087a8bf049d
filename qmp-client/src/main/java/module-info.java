/** Typed asynchronous QMP client. */
module org.vmbackup.qmp {
    requires io.netty.common;
    requires io.netty.buffer;
    requires io.netty.transport;
    requires io.netty.transport.unix.common;
    requires io.netty.transport.classes.epoll;
    requires com.fasterxml.jackson.core;
    requires org.slf4j;
    exports org.vmbackup.qmp;
}
