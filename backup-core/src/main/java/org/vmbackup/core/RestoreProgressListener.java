package org.vmbackup.core;

/**
 * Receives progress of a restore session (to files, of the running state, or live): when a disk advances (at most
 * every 100 ms while copying, every 500 ms during a live restore's background copy), when a disk or the VM state
 * finishes. The mirror of {@link BackupProgressListener}: called from one session thread at a time; it must return
 * quickly and must not block.
 */
@FunctionalInterface
public interface RestoreProgressListener {
    /** A listener that ignores everything. */
    RestoreProgressListener NONE = p -> { };

    /** Called with the current state; exceptions are logged and otherwise ignored. */
    void onProgress(RestoreProgress progress);
}
