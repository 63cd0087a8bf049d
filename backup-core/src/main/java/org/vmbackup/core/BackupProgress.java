package org.vmbackup.core;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A snapshot of a running backup, handed to the {@link BackupProgressListener}.
 *
 * @param phase where the session is
 * @param disks one entry per disk, in archive order
 * @param vmstateBytes VM state bytes in the archive so far (0 without VM state)
 * @param vmstateFinished whether the VM state stream ended (true without VM state)
 * @param elapsed time since the session started
 */
public record BackupProgress(BackupPhase phase, List<DiskProgress> disks, long vmstateBytes,
        boolean vmstateFinished, Duration elapsed) {
    /** Copies the list. */
    public BackupProgress {
        Objects.requireNonNull(phase, "phase");
        disks = List.copyOf(disks);
        Objects.requireNonNull(elapsed, "elapsed");
    }

    /** Bytes done over all disks. */
    public long doneBytes() {
        return disks.stream().mapToLong(DiskProgress::doneBytes).sum();
    }

    /** Total size of all disks. */
    public long totalBytes() {
        return disks.stream().mapToLong(DiskProgress::totalBytes).sum();
    }
}
