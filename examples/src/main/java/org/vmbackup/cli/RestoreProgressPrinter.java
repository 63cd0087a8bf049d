package org.vmbackup.cli;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Map;
import org.vmbackup.core.RestoreProgress;
import org.vmbackup.core.RestoreProgressListener;

/** Prints restore progress as one line per disk and 10 % step, and "Finished device X". */
final class RestoreProgressPrinter implements RestoreProgressListener {
    private final PrintWriter err;
    private final Map<String, Integer> lastStep = new HashMap<>();

    RestoreProgressPrinter(PrintWriter err) {
        this.err = err;
    }

    @Override
    public synchronized void progress(RestoreProgress p) {
        if (p.finished()) {
            err.printf("Finished device %s (%d bytes)%n", p.name(), p.totalBytes());
            err.flush();
            return;
        }
        int step = (int) (p.fraction() * 10);
        Integer last = lastStep.put(p.name(), step);
        if (last == null || step > last) {
            err.printf("%s: %3d%% (%d of %d bytes)%n", p.name(), step * 10, p.doneBytes(), p.totalBytes());
            err.flush();
        }
    }
}
