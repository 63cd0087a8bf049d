package org.vmbackup.core.internal;

import java.util.concurrent.atomic.LongAdder;

/** What reached the archive for one disk, counted by the NBD adapter from several threads. */
public final class DiskCounters {
    private final LongAdder dataBytes = new LongAdder();
    private final LongAdder zeroBytes = new LongAdder();

    /** Counts {@code n} bytes stored as data. */
    public void addData(long n) {
        dataBytes.add(n);
    }

    /** Counts {@code n} bytes recorded as a zero range. */
    public void addZero(long n) {
        zeroBytes.add(n);
    }

    /** Bytes stored as data so far. */
    public long dataBytes() {
        return dataBytes.sum();
    }

    /** Bytes recorded as zero ranges so far. */
    public long zeroBytes() {
        return zeroBytes.sum();
    }
}
