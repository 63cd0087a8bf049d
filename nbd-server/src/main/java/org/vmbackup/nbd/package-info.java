/**
 * A Netty server for the Network Block Device protocol.
 * The server core owns the protocol; a storage backend implements a handful of asynchronous calls.
 */
package org.vmbackup.nbd;
