package org.vmbackup.vma;

/**
 * A run of device bytes with the same allocation status in an archive (4 KiB granularity).
 *
 * @param offset where the run starts (device bytes)
 * @param length its length in bytes (clipped to the device end and the length asked for)
 * @param zero true if the run is all zeros (no data stored: a hole), false if data blocks are stored
 */
public record VmaBlockStatus(long offset, long length, boolean zero) {
}
