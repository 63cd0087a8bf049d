/**
 * A typed, asynchronous client for the QEMU Machine Protocol.
 * One connection object, typed errors that keep QEMU's error class, events that are never dropped.
 */
package org.vmbackup.qmp;
