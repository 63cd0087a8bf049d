package org.vmbackup.cli;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.vmbackup.core.DiskProgress;
import org.vmbackup.core.RestoreProgress;
import org.vmbackup.core.RestoreProgressListener;

/**
 * Prints restore progress as one line per disk and 10 % step (with the recent rate), "Finished device X" once per
 * disk, and "Finished VM state" once it is loaded.
 */
final class RestoreProgressPrinter implements RestoreProgressListener {
    private final PrintWriter err;
    private final Map<String, Integer> lastStep = new HashMap<>();
    private final Set<String> finished = new HashSet<>();
    private boolean vmstateReported;

    RestoreProgressPrinter(PrintWriter err) {
        this.err = err;
    }

    @Override
    public synchronized void onProgress(RestoreProgress p) {
        for (DiskProgress d : p.disks()) {
            if (d.finished()) {
                if (finished.add(d.name())) {
                    err.printf("Finished device %s (%d bytes)%n", d.name(), d.totalBytes());
                }
                continue;
            }
            int step = (int) (d.fraction() * 10);
            Integer last = lastStep.put(d.name(), step);
            if (last == null || step > last) {
                err.printf("%s: %3d%% (%d of %d bytes, %.1f MiB/s)%n", d.name(), step * 10, d.doneBytes(),
                        d.totalBytes(), d.bytesPerSecond() / (1 << 20));
            }
        }
        if (p.vmstateFinished() && p.vmstateBytes() > 0 && !vmstateReported) {
            vmstateReported = true;
            err.printf("Finished VM state (%d bytes)%n", p.vmstateBytes());
        }
        err.flush();
    }
}
