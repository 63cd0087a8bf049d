package org.vmbackup.core;

import java.util.Objects;

/**
 * How far the restore of one disk is.
 *
 * @param device the archive device name, e.g. {@code drive-scsi0}
 * @param doneBytes device bytes already restored (data and zero ranges)
 * @param totalBytes the device size
 * @param finished whether the disk is complete
 */
public record RestoreProgress(String device, long doneBytes, long totalBytes, boolean finished) {
    /** Checks the counters. */
    public RestoreProgress {
        Objects.requireNonNull(device, "device");
        if (doneBytes < 0 || totalBytes < 0) {
            throw new IllegalArgumentException("negative progress for device " + device);
        }
    }

    /** Done as a fraction of the total, 0..1. */
    public double fraction() {
        return totalBytes == 0 ? 1.0 : Math.min(1.0, (double) doneBytes / totalBytes);
    }
}
