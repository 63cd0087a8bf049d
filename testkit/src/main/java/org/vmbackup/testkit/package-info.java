/**
 * Fixtures for integration tests: throwaway QEMU processes (private temp dir, QMP socket, kvm or tcg)
 * that are always killed, checks for the real tools that name the Debian package when one is missing, and
 * {@link org.vmbackup.testkit.ProcessRunner}, the one way tests run other programs (output read while they
 * run, every wait bounded, the process tree killed on timeout).
 */
package org.vmbackup.testkit;
