package org.vmbackup.cli;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.vmbackup.core.BackupPhase;
import org.vmbackup.core.BackupProgress;
import org.vmbackup.core.BackupProgressListener;
import org.vmbackup.core.BackupResult;
import org.vmbackup.core.DiskProgress;
import org.vmbackup.core.DiskResult;
import org.vmbackup.core.FsFreeze;
import org.vmbackup.core.FsFreezeResult;

/** Prints a backup's progress for humans: phases, a progress bar per disk (every 10 %), finished disks, summary. */
final class BackupReporter implements BackupProgressListener {
    private static final int BAR = 20;

    private final PrintWriter out;
    private final boolean vmstate;
    private final Map<String, Integer> lastTenth = new HashMap<>();
    private final Set<String> finished = new HashSet<>();
    private BackupPhase phase;

    BackupReporter(PrintWriter out, boolean vmstate) {
        this.out = out;
        this.vmstate = vmstate;
    }

    @Override
    public synchronized void onProgress(BackupProgress p) {
        if (p.phase() != phase) {
            phase = p.phase();
            if (phase == BackupPhase.CRITICAL_SECTION) {
                out.println(vmstate ? "Running migration..." : "Starting backup jobs...");
            }
        }
        for (DiskProgress d : p.disks()) {
            int tenth = (int) Math.floor(d.fraction() * 10);
            Integer last = lastTenth.get(d.name());
            if (!d.finished() && (last == null || tenth > last) && phase == BackupPhase.COPYING) {
                lastTenth.put(d.name(), tenth);
                out.println(line(d));
            }
            if (d.finished() && finished.add(d.name())) {
                out.println(line(d));
                out.println("Finished device " + d.name());
            }
        }
        out.flush();
    }

    static String line(DiskProgress d) {
        int filled = (int) Math.round(d.fraction() * BAR);
        String eta = d.eta().map(e -> ", ETA " + e.toSeconds() + " s").orElse("");
        return String.format(Locale.ROOT, "%s [%s%s] %3d%% %s of %s, %s/s%s", d.name(), "#".repeat(filled),
                ".".repeat(BAR - filled), Math.round(d.fraction() * 100), size(d.doneBytes()), size(d.totalBytes()),
                size((long) d.bytesPerSecond()), eta);
    }

    synchronized void summary(BackupResult r) {
        out.println("Backup complete: " + r.archive());
        for (DiskResult d : r.disks()) {
            out.println(String.format(Locale.ROOT, "  %s (%s): %s, %s data, %s zero skipped", d.name(), d.device(),
                    size(d.size()), size(d.dataBytes()), size(d.zeroBytes())));
            if (d.bytesNew() >= 0) {
                // a store: how the disk was copied and what it cost there (QEMU's NBD data vs. new in the store)
                out.println(String.format(Locale.ROOT, "    %s; sent by QEMU %s, new in the store %s", d.mode(),
                        size(d.dataBytes()), size(d.bytesNew())));
            }
        }
        if (r.vmstateIncluded()) {
            out.println("  vmstate: " + size(r.vmstateBytes()));
        }
        FsFreezeResult f = r.fsFreeze();
        String freeze = f.mode() == FsFreeze.OFF || !f.quiesced() ? ""
                : String.format(Locale.ROOT, ", file systems frozen %d ms", f.window().toMillis());
        out.println(String.format(Locale.ROOT, "  guest pause %d ms%s, duration %.1f s, %.1f MB/s",
                r.guestPause().toMillis(), freeze, r.duration().toMillis() / 1000.0, r.bytesPerSecond() / 1e6));
        if (f.mode() != FsFreeze.OFF) {
            out.println(f.quiesced()
                    ? "  application-consistent: " + f.frozenFileSystems() + " file system(s) frozen by the guest agent"
                    : "  NOT quiesced, crash-consistent: " + f.note());
        }
        if (f.thawFailed()) {
            out.println("  WARNING: the guest's file systems may still be frozen (the thaw failed: " + f.thawFailure()
                    + "); thaw them with the guest agent's guest-fsfreeze-thaw");
        }
        out.flush();
    }

    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
