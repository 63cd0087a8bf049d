package org.vmbackup.core.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.LongSupplier;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.BackupPhase;
import org.vmbackup.core.BackupProgress;
import org.vmbackup.core.DiskProgress;

/**
 * Turns the session's counters into {@link BackupProgress} snapshots: per disk done/total, recent rate and
 * ETA, plus VM state bytes. The clock is injected so rates are testable without sleeping.
 */
public final class ProgressTracker {
    private final List<ArchiveDisk> disks;
    private final List<DiskCounters> counters = new ArrayList<>();
    private final List<DiskProgressMeter> meters = new ArrayList<>();
    private final AtomicReferenceArray<Boolean> finished;
    private final AtomicLong vmstateBytes = new AtomicLong();
    private final LongSupplier nanoClock;
    private final long startNanos;
    private volatile boolean vmstateFinished;

    /** A tracker for {@code disks}; {@code vmstate} says whether a VM state stream is expected. */
    public ProgressTracker(List<ArchiveDisk> disks, boolean vmstate, LongSupplier nanoClock) {
        this.disks = List.copyOf(disks);
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
        this.finished = new AtomicReferenceArray<>(disks.size());
        for (int i = 0; i < disks.size(); i++) {
            counters.add(new DiskCounters());
            meters.add(new DiskProgressMeter(disks.get(i).name(), disks.get(i).size()));
            finished.set(i, Boolean.FALSE);
        }
        this.vmstateFinished = !vmstate;
    }

    /** The counters of disk number {@code disk}, for the adapter to bump. */
    public DiskCounters counters(int disk) {
        return counters.get(disk);
    }

    /** Marks disk number {@code disk} as completely copied; returns whether it was not already. */
    public boolean markFinished(int disk) {
        return finished.compareAndSet(disk, Boolean.FALSE, Boolean.TRUE);
    }

    /** Whether disk number {@code disk} is completely copied. */
    public boolean isFinished(int disk) {
        return finished.get(disk);
    }

    /** Adds {@code n} bytes of VM state received. */
    public void addVmstate(long n) {
        vmstateBytes.addAndGet(n);
    }

    /** Marks the VM state stream as ended. */
    public void markVmstateFinished() {
        vmstateFinished = true;
    }

    /** VM state bytes received so far. */
    public long vmstateBytes() {
        return vmstateBytes.get();
    }

    /** The elapsed time since the tracker was created. */
    public Duration elapsed() {
        return Duration.ofNanos(nanoClock.getAsLong() - startNanos);
    }

    /** A snapshot in {@code phase}; also feeds the rate meters. */
    public BackupProgress snapshot(BackupPhase phase) {
        long now = nanoClock.getAsLong();
        List<DiskProgress> out = new ArrayList<>(disks.size());
        for (int i = 0; i < disks.size(); i++) {
            DiskCounters c = counters.get(i);
            long zero = c.zeroBytes();
            out.add(meters.get(i).sample(now, c.dataBytes() + zero, zero, finished.get(i)));
        }
        return new BackupProgress(phase, out, vmstateBytes.get(), vmstateFinished,
                Duration.ofNanos(now - startNanos));
    }
}
