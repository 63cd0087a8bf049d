package org.vmbackup.core.internal;

import java.time.Duration;
import java.util.Optional;
import org.vmbackup.core.DiskProgress;

/**
 * Turns one disk's cumulative counters into a {@link DiskProgress} with a recent rate and an ETA. Backup and
 * restore progress both use it, so a rate means the same thing in either direction.
 */
public final class DiskProgressMeter {
    private final String name;
    private final long size;
    private final RateMeter rate = new RateMeter();

    /** A meter for the disk {@code name} of {@code size} bytes. */
    public DiskProgressMeter(String name, long size) {
        this.name = name;
        this.size = size;
    }

    /**
     * The disk's progress at {@code nowNanos}; also feeds the rate.
     *
     * @param done bytes covered so far (data and zero runs), clamped to the disk size
     * @param zero of those, bytes that were zero runs
     * @param finished whether the disk is complete (then done is the size and the ETA zero)
     */
    public DiskProgress sample(long nowNanos, long done, long zero, boolean finished) {
        long d = finished ? size : Math.min(size, Math.max(0, done));
        long z = Math.min(Math.max(0, zero), d);
        rate.sample(nowNanos, d);
        double bps = rate.bytesPerSecond();
        Optional<Duration> eta;
        if (finished) {
            eta = Optional.of(Duration.ZERO);
        } else if (bps > 0) {
            eta = Optional.of(Duration.ofNanos((long) ((size - d) / bps * 1e9)));
        } else {
            eta = Optional.empty();
        }
        return new DiskProgress(name, d, size, z, bps, eta, finished);
    }
}
