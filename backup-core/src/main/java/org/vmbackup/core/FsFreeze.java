package org.vmbackup.core;

/**
 * Whether a backup freezes the guest's file systems through the QEMU guest agent around its consistent instant
 * (an application-consistent backup: every file system flushed and idle at the instant, no journal to replay
 * after a restore), or takes the disks as they are (crash-consistent: as after a power cut).
 */
public enum FsFreeze {
    /** No freeze: a crash-consistent backup; the guest agent is not contacted (the default). */
    OFF,
    /**
     * Freeze, or fail: without an answering agent the backup fails before anything is done to the guest, and a
     * freeze that does not hold until the instant fails the backup.
     */
    REQUIRED,
    /**
     * Freeze if the agent answers; otherwise a crash-consistent backup whose result says so
     * ({@link FsFreezeResult#quiesced()} false, with the reason).
     */
    TRY
}
