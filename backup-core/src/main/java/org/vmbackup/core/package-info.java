/**
 * Backup and restore sessions that compose QMP, NBD and VMA into a consistent live backup of a running QEMU
 * virtual machine (all disks and RAM at one instant) and its restore.
 */
package org.vmbackup.core;
