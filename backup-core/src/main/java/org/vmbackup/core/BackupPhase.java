package org.vmbackup.core;

/** Where a backup session is, in order; {@link #DONE} and {@link #FAILED} are final. */
public enum BackupPhase {
    /** Checking QEMU, starting the NBD server, adding targets, setting migration capabilities. */
    PREPARING,
    /** Guest stopped: starting the backup jobs and the VM state snapshot (only with VM state). */
    CRITICAL_SECTION,
    /** Guest running; disks and VM state stream into the archive. */
    COPYING,
    /** Every job done: flushing and committing the archive, cleaning up QEMU. */
    FINISHING,
    /** The archive is complete under its final name. */
    DONE,
    /** The session failed or was cancelled; nothing is under the final name. */
    FAILED
}
