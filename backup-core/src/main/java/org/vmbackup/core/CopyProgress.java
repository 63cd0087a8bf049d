package org.vmbackup.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.DiskProgressMeter;

/**
 * Counts what an {@link ArchiveCopy} has passed on, per disk, and tells its listener at most every 100 ms and once
 * at the end. Each byte range of a disk reaches the copy once (data or zero run), so the sum is how far it is.
 */
final class CopyProgress {
    private static final Logger LOG = LoggerFactory.getLogger(CopyProgress.class);
    private static final long INTERVAL_NANOS = 100_000_000L;

    private final RestoreProgressListener listener;
    private final List<DiskProgressMeter> meters = new ArrayList<>();
    private final long[] done;
    private final long[] zero;
    private final boolean hasVmstate;
    private final long start = System.nanoTime();
    private long vmstateBytes;
    private long last = start;

    CopyProgress(ArchiveLayout layout, RestoreProgressListener listener) {
        this.listener = listener;
        for (ArchiveDisk d : layout.disks()) {
            meters.add(new DiskProgressMeter(d.name(), d.size()));
        }
        done = new long[meters.size()];
        zero = new long[meters.size()];
        hasVmstate = layout.vmstateEstimate() > 0;
    }

    void data(int disk, long n) {
        done[disk] += n;
        maybeReport();
    }

    void zero(int disk, long n) {
        done[disk] += n;
        zero[disk] += n;
        maybeReport();
    }

    void vmstate(long n) {
        vmstateBytes += n;
        maybeReport();
    }

    void finish() {
        report(System.nanoTime(), true);
    }

    private void maybeReport() {
        if (listener == RestoreProgressListener.NONE) {
            return;
        }
        long now = System.nanoTime();
        if (now - last >= INTERVAL_NANOS) {
            last = now;
            report(now, false);
        }
    }

    private void report(long now, boolean finished) {
        if (listener == RestoreProgressListener.NONE) {
            return;
        }
        List<DiskProgress> disks = new ArrayList<>(meters.size());
        for (int i = 0; i < meters.size(); i++) {
            disks.add(meters.get(i).sample(now, done[i], zero[i], finished));
        }
        try {
            listener.onProgress(new RestoreProgress(disks, vmstateBytes, finished || !hasVmstate,
                    Duration.ofNanos(now - start)));
        } catch (RuntimeException e) {
            LOG.warn("progress listener failed: {}", e.toString());
        }
    }
}
