package org.vmbackup.vma;

/**
 * What a writer stored for one device so far.
 *
 * @param device the device
 * @param clusters clusters emitted into extents
 * @param storedBytes bytes of 4 KiB blocks stored in the archive (non-zero blocks)
 * @param zeroBytes device bytes not stored because they were zero (detected or declared)
 */
public record VmaDeviceStats(VmaDevice device, long clusters, long storedBytes, long zeroBytes) {
}
