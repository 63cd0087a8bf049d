package org.vmbackup.core;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a full VM-state restore did.
 *
 * @param disks the target QEMU's disk images that were overwritten with the archive's disks
 * @param vmstateBytes bytes of migration stream fed to QEMU
 * @param running whether the guest runs at the end (false if resuming was not asked for)
 * @param duration wall time from start to the guest running (or to the migration being loaded)
 */
public record RestoreVmResult(List<RestoredDisk> disks, long vmstateBytes, boolean running, Duration duration) {
    /** Copies the list. */
    public RestoreVmResult {
        disks = List.copyOf(disks);
        Objects.requireNonNull(duration, "duration");
    }
}
