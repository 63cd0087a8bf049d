package org.vmbackup.nbd;

/**
 * One run of the allocation map ({@code base:allocation}): {@code length} bytes from {@code offset} that are
 * all holes or not, all zero or not.
 *
 * @param offset first byte of the run
 * @param length bytes in the run, positive
 * @param hole whether the run is unallocated (NBD_STATE_HOLE)
 * @param zero whether the run reads as zeroes (NBD_STATE_ZERO)
 */
public record NbdExtent(long offset, long length, boolean hole, boolean zero) {
    /** Checks the run is well formed. */
    public NbdExtent {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("bad extent offset=" + offset + " length=" + length);
        }
    }

    /** Allocated data with unknown content: always a correct answer. */
    public static NbdExtent data(long offset, long length) {
        return new NbdExtent(offset, length, false, false);
    }

    /** An unallocated run that reads as zeroes. */
    public static NbdExtent hole(long offset, long length) {
        return new NbdExtent(offset, length, true, true);
    }

    /** The first byte after the run. */
    public long end() {
        return offset + length;
    }

    /** The {@code base:allocation} status bits of this run. */
    public int flags() {
        return (hole ? 1 : 0) | (zero ? 2 : 0);
    }
}
