package org.vmbackup.core.internal;

import java.io.InterruptedIOException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Holds a flow of bytes to a rate, shared by any number of threads (e.g. every disk of one restore, so the limit is
 * the restore's total and not per disk).
 *
 * <p>A token bucket kept as one instant (the "theoretical arrival time" of the generic cell rate algorithm): each
 * {@link #acquire} books its bytes after those already booked and sleeps until its booking is at most
 * {@link #BURST_NANOS} ahead of now. Over any interval {@code T} at most {@code rate * (T + 100 ms)} bytes pass, a
 * booking larger than the bucket simply waits longer (nothing is refused), and idle time is not saved up beyond the
 * burst. Waits are one sleep each (no polling), bounded by the bytes booked ahead divided by the rate, and
 * interruptible.
 */
public final class RateLimiter {
    /** The burst allowed after an idle period, as time at the full rate. */
    static final long BURST_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** The most one call may book: callers move data in chunks, so more is a bug, not a request. */
    static final long MAX_ACQUIRE = 64L << 20;

    private static final RateLimiter UNLIMITED = new RateLimiter(0, () -> 0, n -> { });

    /** How a limiter waits; tests inject one that advances their fake clock instead of sleeping. */
    @FunctionalInterface
    public interface Sleeper {
        /** Sleeps about {@code nanos} (positive). */
        void sleepNanos(long nanos) throws InterruptedException;
    }

    private final long bytesPerSecond;
    private final LongSupplier clock;
    private final Sleeper sleeper;
    private long bookedUntil; // guarded by this; a System.nanoTime()-style instant

    private RateLimiter(long bytesPerSecond, LongSupplier clock, Sleeper sleeper) {
        this.bytesPerSecond = bytesPerSecond;
        this.clock = clock;
        this.sleeper = sleeper;
        this.bookedUntil = clock.getAsLong();
    }

    /**
     * A limiter of {@code bytesPerSecond} on the real clock.
     *
     * @param bytesPerSecond the rate; 0 means unlimited
     * @throws IllegalArgumentException if negative
     */
    public static RateLimiter of(long bytesPerSecond) {
        return of(bytesPerSecond, System::nanoTime, TimeUnit.NANOSECONDS::sleep);
    }

    /** A limiter on the given clock (nanoseconds, monotonic) and sleeper. */
    public static RateLimiter of(long bytesPerSecond, LongSupplier clock, Sleeper sleeper) {
        checkRate(bytesPerSecond, "bandwidth limit");
        return bytesPerSecond == 0 ? UNLIMITED : new RateLimiter(bytesPerSecond, clock, sleeper);
    }

    /**
     * Checks a bandwidth limit given to a builder: bytes per second, 0 for unlimited.
     *
     * @return {@code bytesPerSecond}
     * @throws IllegalArgumentException naming {@code what} if negative
     */
    public static long checkRate(long bytesPerSecond, String what) {
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException(what + " must be 0 (unlimited) or a positive number of bytes per "
                    + "second, not " + bytesPerSecond);
        }
        return bytesPerSecond;
    }

    /**
     * One of {@code ways} equal shares of {@code total} bytes/s, for limits enforced separately (QEMU limits each
     * block job on its own), so that together they never exceed the total. A share that finishes early is not handed
     * on to the others.
     *
     * @return 0 (unlimited) if {@code total} is 0; otherwise at least 1
     */
    public static long share(long total, int ways) {
        checkRate(total, "bandwidth limit");
        return total == 0 ? 0 : Math.max(1, total / Math.max(1, ways));
    }

    /** The rate in bytes per second; 0 if unlimited. */
    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    /** Whether this limiter never waits. */
    public boolean unlimited() {
        return bytesPerSecond == 0;
    }

    /**
     * Waits until {@code bytes} more may pass. An interrupted wait keeps its booking (the caller is giving up anyway).
     *
     * @throws IllegalArgumentException if {@code bytes} is negative or above 64 MiB
     * @throws InterruptedException if interrupted while waiting
     */
    public void acquire(long bytes) throws InterruptedException {
        if (bytes < 0 || bytes > MAX_ACQUIRE) {
            throw new IllegalArgumentException("acquire 0 to " + MAX_ACQUIRE + " bytes at a time, not " + bytes);
        }
        if (bytesPerSecond == 0 || bytes == 0) {
            return;
        }
        long wakeAt;
        synchronized (this) {
            long now = clock.getAsLong();
            // idle time is not saved up: a booking starts no earlier than now
            long start = bookedUntil - now > 0 ? bookedUntil : now;
            // bytes <= 64 MiB: bytes * 1e9 < 2^56, no overflow
            bookedUntil = start + bytes * 1_000_000_000L / bytesPerSecond;
            wakeAt = bookedUntil - BURST_NANOS;
        }
        long wait = wakeAt - clock.getAsLong();
        if (wait > 0) {
            sleeper.sleepNanos(wait);
        }
    }

    /**
     * {@link #acquire} for I/O paths: an interrupt becomes an {@link InterruptedIOException} and the thread's
     * interrupt flag stays set.
     */
    public void acquireIo(long bytes) throws InterruptedIOException {
        try {
            acquire(bytes);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            InterruptedIOException io = new InterruptedIOException("interrupted while held to the bandwidth limit");
            io.initCause(e);
            throw io;
        }
    }

    @Override
    public String toString() {
        return bytesPerSecond == 0 ? "unlimited" : bytesPerSecond + " B/s";
    }
}
