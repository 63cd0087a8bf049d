package org.vmbackup.qmp;

/** Which Netty transport a client uses. */
public enum QmpTransport {
    /** Epoll when its native library loads (needed for fd passing), otherwise NIO. */
    AUTO,
    /** Netty's native epoll transport: unix sockets can pass file descriptors (SCM_RIGHTS). */
    EPOLL,
    /** The JDK's NIO transport: unix and TCP sockets, but no fd passing. */
    NIO
}
