package org.vmbackup.core;

/**
 * Receives progress of a backup session: on every phase change, when a disk finishes, and periodically
 * while copying. Called from one session thread at a time; it must return quickly and must not block.
 */
@FunctionalInterface
public interface BackupProgressListener {
    /** A listener that ignores everything. */
    BackupProgressListener NONE = p -> { };

    /** Called with the current state; exceptions are logged and otherwise ignored. */
    void onProgress(BackupProgress progress);
}
