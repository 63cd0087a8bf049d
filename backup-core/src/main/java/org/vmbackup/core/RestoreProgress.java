package org.vmbackup.core;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A snapshot of a running restore, handed to the {@link RestoreProgressListener}: the mirror of
 * {@link BackupProgress}, with the same {@link DiskProgress} per disk (done, total, zero runs, recent rate, ETA).
 *
 * @param disks one entry per disk being restored, in archive order; {@link DiskProgress#name()} is the disk's
 *     archive name
 * @param vmstateBytes VM state bytes handed to QEMU so far (0 when the restore has no VM state)
 * @param vmstateFinished whether the VM state is completely loaded (true when the restore has no VM state)
 * @param elapsed time since the session started
 */
public record RestoreProgress(List<DiskProgress> disks, long vmstateBytes, boolean vmstateFinished,
        Duration elapsed) {
    /** Copies the list and checks the counters. */
    public RestoreProgress {
        disks = List.copyOf(disks);
        Objects.requireNonNull(elapsed, "elapsed");
        if (vmstateBytes < 0) {
            throw new IllegalArgumentException("negative VM state progress: " + vmstateBytes);
        }
    }

    /** Bytes restored over all disks. */
    public long doneBytes() {
        return disks.stream().mapToLong(DiskProgress::doneBytes).sum();
    }

    /** Total size of all disks being restored. */
    public long totalBytes() {
        return disks.stream().mapToLong(DiskProgress::totalBytes).sum();
    }

    /** Whether every disk and the VM state are complete. */
    public boolean finished() {
        return vmstateFinished && disks.stream().allMatch(DiskProgress::finished);
    }

    /** The progress of the disk named {@code name} in the archive, or null when it is not being restored. */
    public DiskProgress disk(String name) {
        for (DiskProgress d : disks) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }
}
