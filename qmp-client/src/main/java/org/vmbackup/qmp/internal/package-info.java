/** Netty plumbing of the QMP client (framing, transports); not exported. */
package org.vmbackup.qmp.internal;
