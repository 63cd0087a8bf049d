package org.vmbackup.core;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of a successful backup.
 *
 * @param archive where the archive is (its final path, or the description of its sink)
 * @param started when the session started
 * @param disks per-disk counters, in archive order
 * @param vmstateIncluded whether the archive holds the VM state
 * @param vmstateBytes the VM state stream's length in bytes (0 without VM state)
 * @param guestPause how long the guest was paused: STOP to RESUME event timestamps (zero without VM state,
 *     where the session never pauses the guest)
 * @param duration from start to the committed archive
 * @param fsFreeze what the file-system freeze did ({@link FsFreezeResult#off()} without one)
 */
public record BackupResult(String archive, Instant started, List<DiskResult> disks, boolean vmstateIncluded,
        long vmstateBytes, Duration guestPause, Duration duration, FsFreezeResult fsFreeze) {
    /** Copies the list. */
    public BackupResult {
        Objects.requireNonNull(archive, "archive");
        Objects.requireNonNull(started, "started");
        disks = List.copyOf(disks);
        Objects.requireNonNull(guestPause, "guestPause");
        Objects.requireNonNull(duration, "duration");
        Objects.requireNonNull(fsFreeze, "fsFreeze");
    }

    /** The result of a backup without a file-system freeze. */
    public BackupResult(String archive, Instant started, List<DiskResult> disks, boolean vmstateIncluded,
            long vmstateBytes, Duration guestPause, Duration duration) {
        this(archive, started, disks, vmstateIncluded, vmstateBytes, guestPause, duration, FsFreezeResult.off());
    }

    /** The sum of all disk sizes. */
    public long totalDiskBytes() {
        return disks.stream().mapToLong(DiskResult::size).sum();
    }

    /** The bytes stored as data over all disks. */
    public long totalDataBytes() {
        return disks.stream().mapToLong(DiskResult::dataBytes).sum();
    }

    /** The bytes that arrived as zero ranges over all disks. */
    public long totalZeroBytes() {
        return disks.stream().mapToLong(DiskResult::zeroBytes).sum();
    }

    /** Disk sizes plus VM state, per second of the whole session. */
    public double bytesPerSecond() {
        double s = duration.toNanos() / 1e9;
        return s <= 0 ? 0 : (totalDiskBytes() + vmstateBytes) / s;
    }
}
