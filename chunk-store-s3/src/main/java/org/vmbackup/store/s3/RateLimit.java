package org.vmbackup.store.s3;

import java.io.InterruptedIOException;
import java.util.concurrent.TimeUnit;

/**
 * Paces the bytes of all transfers of one backend (uploads and downloads together) to a rate: each transfer
 * reserves its bytes on one shared time line and waits until its reservation ends, so N bytes take at least N /
 * rate seconds whatever the number of threads. Idle time is not saved up (no burst after a pause).
 */
final class RateLimit {
    private final long bytesPerSecond;
    /** System.nanoTime() at which the bytes reserved so far have been paid for. */
    private long paidUntil = System.nanoTime();

    /** @param bytesPerSecond the rate; 0 for none */
    RateLimit(long bytesPerSecond) {
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("negative rate " + bytesPerSecond);
        }
        this.bytesPerSecond = bytesPerSecond;
    }

    /** Waits until {@code bytes} more fit the rate. */
    void acquire(long bytes) throws InterruptedIOException {
        if (bytesPerSecond == 0 || bytes <= 0) {
            return;
        }
        long until;
        synchronized (this) {
            long now = System.nanoTime();
            long start = paidUntil - now > 0 ? paidUntil : now;
            paidUntil = start + (long) (bytes * 1e9 / bytesPerSecond);
            until = paidUntil;
        }
        long wait = until - System.nanoTime();
        if (wait > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while keeping to the bandwidth limit");
            }
        }
    }
}
