package org.vmbackup.store;

/**
 * A run of a disk that is all data or all hole (zero, nothing stored).
 *
 * @param offset the first byte
 * @param length the run's length, at least 1
 * @param hole true when the run reads as zeros and stores nothing
 */
public record Extent(long offset, long length, boolean hole) {
    /** Checks the invariants. */
    public Extent {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("bad extent " + offset + "+" + length);
        }
    }
}
