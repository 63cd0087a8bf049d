package org.vmbackup.core;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A finished live restore: the VM runs on its local images, the archive is released.
 *
 * @param disks the local images (qcow2, no backing file any more)
 * @param timeToRunning from {@link LiveRestoreSession#prepare()} to the guest running
 * @param duration from {@link LiveRestoreSession#prepare()} to the last byte copied and the archive released
 */
public record LiveRestoreResult(List<RestoredDisk> disks, Duration timeToRunning, Duration duration) {
    /** Copies the list. */
    public LiveRestoreResult {
        disks = List.copyOf(disks);
        Objects.requireNonNull(timeToRunning, "timeToRunning");
        Objects.requireNonNull(duration, "duration");
    }
}
