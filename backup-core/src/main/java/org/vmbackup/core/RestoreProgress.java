package org.vmbackup.core;

import java.util.Objects;

/**
 * How far the restore of one disk is.
 *
 * @param name the disk's name in the archive, e.g. {@code drive-scsi0}
 * @param doneBytes disk bytes already restored (data and zero ranges)
 * @param totalBytes the disk size
 * @param finished whether the disk is complete
 */
public record RestoreProgress(String name, long doneBytes, long totalBytes, boolean finished) {
    /** Checks the counters. */
    public RestoreProgress {
        Objects.requireNonNull(name, "name");
        if (doneBytes < 0 || totalBytes < 0) {
            throw new IllegalArgumentException("negative progress for disk " + name);
        }
    }

    /** Done as a fraction of the total, 0..1. */
    public double fraction() {
        return totalBytes == 0 ? 1.0 : Math.min(1.0, (double) doneBytes / totalBytes);
    }
}
