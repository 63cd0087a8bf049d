/**
 * Fixtures for integration tests: throwaway QEMU processes (private temp dir, QMP socket, kvm or tcg)
 * that are always killed, and checks for the real tools that name the Debian package when one is missing.
 */
package org.vmbackup.testkit;
