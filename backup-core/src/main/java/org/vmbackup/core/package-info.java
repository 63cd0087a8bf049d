/**
 * Backup and restore sessions that compose QMP, NBD and VMA into a consistent live backup of a running QEMU
 * virtual machine (all disks and RAM at one instant) and its restore.
 *
 * <h2>Backup</h2>
 * {@link org.vmbackup.core.BackupSession} runs the recipe QEMU 7.2 supports without patches: NBD exports of the
 * exact disk sizes on a private unix socket, {@code blockdev-add} NBD targets, then a short critical section
 * ({@code stop}, one {@code transaction} of throttled {@code blockdev-backup} jobs, a {@code background-snapshot}
 * migration to a unix socket the session listens on, the guest resumed); disks (copy-before-write) and RAM
 * (userfaultfd write protection) then stream into an {@link org.vmbackup.core.ArchiveSink} while the guest runs.
 * Results are {@link org.vmbackup.core.BackupResult} and {@link org.vmbackup.core.BackupProgress}; failures are
 * {@link org.vmbackup.core.BackupException}s naming the cause.
 *
 * <h2>Archive formats</h2>
 * {@link org.vmbackup.core.ArchiveTarget#of(java.nio.file.Path)} picks {@link org.vmbackup.core.vma.VmaArchiveSink}
 * ({@code .vma}, {@code .vma.zst}, {@code .vma.gz}) or {@link org.vmbackup.core.DirectoryArchiveSink} (sparse raw
 * images, {@code vmstate.bin}, {@code manifest.json}); any other format is an {@code ArchiveTarget} lambda. Every
 * archive is written under a temporary name and appears under its final name only when complete.
 */
package org.vmbackup.core;
