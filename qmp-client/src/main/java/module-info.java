/** Typed asynchronous QMP client. */
module org.vmbackup.qmp {
    requires io.netty.common;
    requires io.netty.buffer;
    requires transitive io.netty.transport;
    requires transitive io.netty.transport.unix.common;
    requires io.netty.transport.classes.epoll;
    requires transitive com.fasterxml.jackson.core;
    requires org.slf4j;
    exports org.vmbackup.qmp;
    exports org.vmbackup.qmp.command;
    exports org.vmbackup.qmp.agent;
}
