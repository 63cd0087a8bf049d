package org.vmbackup.core.internal;

/**
 * A byte rate over the last few seconds, from cumulative counter samples taken at arbitrary times.
 * Keeps a fixed ring of samples; thread-safe through synchronization (sampled a few times a second).
 */
public final class RateMeter {
    private static final int SLOTS = 16;
    private static final long MIN_SPACING_NANOS = 200_000_000L;

    private final long[] times = new long[SLOTS];
    private final long[] values = new long[SLOTS];
    private int count;
    private int head;

    /** Records that the counter had {@code value} at {@code nanoTime}; samples closer than 200 ms are merged. */
    public synchronized void sample(long nanoTime, long value) {
        if (count > 0) {
            int last = (head + count - 1) % SLOTS;
            if (nanoTime - times[last] < MIN_SPACING_NANOS && count > 1) {
                times[last] = nanoTime;
                values[last] = value;
                return;
            }
        }
        if (count == SLOTS) {
            head = (head + 1) % SLOTS;
            count--;
        }
        int slot = (head + count) % SLOTS;
        times[slot] = nanoTime;
        values[slot] = value;
        count++;
    }

    /** Bytes per second between the oldest and newest sample, 0 until two samples are apart in time. */
    public synchronized double bytesPerSecond() {
        if (count < 2) {
            return 0;
        }
        int last = (head + count - 1) % SLOTS;
        long dt = times[last] - times[head];
        return dt <= 0 ? 0 : (values[last] - values[head]) * 1e9 / dt;
    }
}
