package org.vmbackup.core;

/**
 * Receives restore progress. Called from the restoring thread; keep it quick and do not throw.
 */
@FunctionalInterface
public interface RestoreProgressListener {
    /** A listener that ignores everything. */
    RestoreProgressListener NONE = p -> { };

    /** One disk moved forward (or finished). */
    void progress(RestoreProgress progress);
}
