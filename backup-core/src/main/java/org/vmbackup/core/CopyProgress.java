package org.vmbackup.core;

import org.vmbackup.core.internal.RestoreProgressReporter;

/**
 * Counts what an {@link ArchiveCopy} has passed on, per disk, and hands it to a {@link RestoreProgressReporter} at
 * most every 100 ms and once at the end. Each byte range of a disk reaches the copy once (data or zero run), so
 * the sum is how far it is.
 */
final class CopyProgress {
    private static final long INTERVAL_NANOS = 100_000_000L;

    private final ArchiveLayout layout;
    private final RestoreProgressReporter reporter;
    private final boolean quiet;
    private final long[] done;
    private final long[] zero;
    private final long[] reported;
    private long vmstateBytes;
    private long vmstateReported;
    private long last = System.nanoTime();

    CopyProgress(ArchiveLayout layout, RestoreProgressListener listener) {
        this.layout = layout;
        this.quiet = listener == RestoreProgressListener.NONE;
        this.reporter = new RestoreProgressReporter(layout.disks(), layout.vmstateEstimate() > 0, listener,
                System::nanoTime, last);
        done = new long[layout.disks().size()];
        zero = new long[done.length];
        reported = new long[done.length];
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
        if (quiet) {
            return;
        }
        for (ArchiveDisk d : layout.disks()) {
            reporter.diskFinished(d.name());
        }
        reporter.vmstate(vmstateBytes, true);
    }

    private void maybeReport() {
        if (quiet) {
            return;
        }
        long now = System.nanoTime();
        if (now - last < INTERVAL_NANOS) {
            return;
        }
        last = now;
        for (int i = 0; i < done.length; i++) { // only what moved: each call reports to the listener
            if (done[i] != reported[i]) {
                reported[i] = done[i];
                reporter.disk(layout.disk(i).name(), done[i], zero[i]);
            }
        }
        if (vmstateBytes != vmstateReported) {
            vmstateReported = vmstateBytes;
            reporter.vmstate(vmstateBytes, false);
        }
    }
}
