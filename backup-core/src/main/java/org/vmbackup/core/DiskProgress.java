package org.vmbackup.core;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How far one disk's copy is.
 *
 * @param name the disk's archive name
 * @param doneBytes bytes of the disk already in the archive (data and zero ranges)
 * @param totalBytes the disk size
 * @param zeroBytes of {@code doneBytes}, how many arrived as zero ranges and cost no data
 * @param bytesPerSecond the recent copy rate
 * @param eta the estimated time to finish, empty while the rate is unknown
 * @param finished whether the disk is completely copied
 */
public record DiskProgress(String name, long doneBytes, long totalBytes, long zeroBytes, double bytesPerSecond,
        Optional<Duration> eta, boolean finished) {
    /** Validates the counters. */
    public DiskProgress {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(eta, "eta");
        if (doneBytes < 0 || totalBytes < 0 || zeroBytes < 0 || zeroBytes > doneBytes) {
            throw new IllegalArgumentException("inconsistent progress for disk " + name + ": done " + doneBytes
                    + ", total " + totalBytes + ", zero " + zeroBytes);
        }
    }

    /** Done as a fraction of the total, 0..1 (1 for an empty disk). */
    public double fraction() {
        return totalBytes == 0 ? 1.0 : Math.min(1.0, (double) doneBytes / totalBytes);
    }
}
