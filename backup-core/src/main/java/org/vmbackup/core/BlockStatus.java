package org.vmbackup.core;

/**
 * A run of disk bytes with one allocation status in an archive.
 *
 * @param offset where the run starts
 * @param length its length in bytes (positive; clipped to the disk end and the length asked for)
 * @param hole true when nothing is stored there and it reads as zeros, false when data is stored
 */
public record BlockStatus(long offset, long length, boolean hole) {
    /** Checks the range. */
    public BlockStatus {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("bad block status range [" + offset + ", +" + length + ")");
        }
    }
}
