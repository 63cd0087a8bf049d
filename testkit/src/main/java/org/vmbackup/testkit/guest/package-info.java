/**
 * A tiny real Linux guest for integration tests: {@link org.vmbackup.testkit.guest.TinyGuest} builds and caches a
 * kernel and initramfs from Debian 12 packages, {@link org.vmbackup.testkit.guest.GuestVm} boots it on a
 * throwaway QEMU with a data disk and the guest agent's socket, {@link org.vmbackup.testkit.guest.GuestConsole}
 * and {@link org.vmbackup.testkit.guest.GuestRecords} observe its workload (a console counter, checksummed
 * records on an ext4 disk).
 */
package org.vmbackup.testkit.guest;
