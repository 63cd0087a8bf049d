package org.vmbackup.core.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.DiskProgress;
import org.vmbackup.core.RestoreProgress;
import org.vmbackup.core.RestoreProgressListener;

/**
 * Keeps a restore's per-disk counters and hands {@link RestoreProgress} snapshots to the user's listener, one call
 * at a time (restore sessions update it from copy threads and pollers). A failing listener is logged, never
 * allowed to fail the restore.
 */
public final class RestoreProgressReporter {
    private static final Logger log = LoggerFactory.getLogger(RestoreProgressReporter.class);

    private final RestoreProgressListener listener;
    private final LongSupplier nanoClock;
    private final long startNanos;
    private final Map<String, Disk> disks = new LinkedHashMap<>();
    private long vmstateBytes;
    private boolean vmstateFinished;

    private static final class Disk {
        final DiskProgressMeter meter;
        long done;
        long zero;
        boolean finished;

        Disk(ArchiveDisk d) {
            meter = new DiskProgressMeter(d.name(), d.size());
        }
    }

    /**
     * A reporter for a restore of {@code disks} (archive disks, in archive order), with a VM state when
     * {@code vmstate}; the elapsed time counts from {@code startNanos} of {@code nanoClock}.
     */
    public RestoreProgressReporter(List<ArchiveDisk> disks, boolean vmstate, RestoreProgressListener listener,
            LongSupplier nanoClock, long startNanos) {
        this.listener = listener;
        this.nanoClock = nanoClock;
        this.startNanos = startNanos;
        for (ArchiveDisk d : disks) {
            this.disks.put(d.name(), new Disk(d));
        }
        this.vmstateFinished = !vmstate;
    }

    /** The disk named {@code name} reached {@code done} bytes, {@code zero} of them zero runs; reports. */
    public synchronized void disk(String name, long done, long zero) {
        Disk d = disks.get(name);
        if (d == null || d.finished) {
            return;
        }
        d.done = Math.max(d.done, done);
        d.zero = Math.max(d.zero, zero);
        emit();
    }

    /** The image file {@code f} of a restore to files advanced (its data and zero runs so far); reports. */
    public void disk(RestoreImageFile f) {
        disk(f.device().name(), f.doneBytes(), f.doneBytes() - f.dataBytes());
    }

    /** The disk named {@code name} is complete; reports. */
    public synchronized void diskFinished(String name) {
        Disk d = disks.get(name);
        if (d == null || d.finished) {
            return;
        }
        d.finished = true;
        emit();
    }

    /** {@code bytes} of VM state were handed to QEMU so far, {@code finished} once it is loaded; reports. */
    public synchronized void vmstate(long bytes, boolean finished) {
        vmstateBytes = Math.max(vmstateBytes, bytes);
        vmstateFinished |= finished;
        emit();
    }

    /** The current state (also feeds the rates). */
    public synchronized RestoreProgress snapshot() {
        long now = nanoClock.getAsLong();
        List<DiskProgress> out = new ArrayList<>(disks.size());
        for (Disk d : disks.values()) {
            out.add(d.meter.sample(now, d.done, d.zero, d.finished));
        }
        return new RestoreProgress(out, vmstateBytes, vmstateFinished, java.time.Duration.ofNanos(now - startNanos));
    }

    private void emit() {
        RestoreProgress p = snapshot();
        try {
            listener.onProgress(p);
        } catch (RuntimeException e) {
            log.warn("progress listener failed", e);
        }
    }
}
