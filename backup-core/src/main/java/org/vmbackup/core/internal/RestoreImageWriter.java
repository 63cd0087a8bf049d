package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.Consumer;
import org.vmbackup.core.ArchiveVisitor;

/**
 * The {@link ArchiveVisitor} of the restores that write image files: each run of a chosen disk goes to its
 * {@link RestoreImageFile} (unchosen disks are skipped), data held to the rate limit, progress reported at most every
 * {@link #REPORT_NANOS} per call site so a fragmented disk does not flood the listener; VM state bytes go to an
 * optional second visitor (the running-state restore's spool). Every run checks the session's {@link CancelSignal},
 * so a cancel stops the pass within one run.
 */
public final class RestoreImageWriter implements ArchiveVisitor {
    /** Progress events while copying: often enough for a progress bar, rare enough to cost nothing. */
    private static final long REPORT_NANOS = 100_000_000L;

    private final RestoreImageFile[] byDisk;
    private final RateLimiter limiter;
    private final Consumer<RestoreImageFile> progress;
    private final ArchiveVisitor vmstate;
    private final CancelSignal cancel;
    private long lastReport = System.nanoTime();

    /**
     * @param byDisk the image file per archive disk number, null for a disk not restored
     * @param progress told about a file that advanced (not more often than every 100 ms)
     * @param vmstate receives the VM state bytes, or null to drop them
     * @param cancel checked on every run
     */
    public RestoreImageWriter(RestoreImageFile[] byDisk, RateLimiter limiter, Consumer<RestoreImageFile> progress,
            ArchiveVisitor vmstate, CancelSignal cancel) {
        this.cancel = cancel;
        this.byDisk = byDisk.clone();
        this.limiter = limiter;
        this.progress = progress;
        this.vmstate = vmstate;
    }

    @Override
    public void data(int disk, long offset, ByteBuffer data) throws IOException {
        cancel.check();
        RestoreImageFile f = byDisk[disk];
        if (f != null) {
            limiter.acquireIo(data.remaining());
            f.write(offset, data);
            tick(f);
        }
    }

    @Override
    public void zero(int disk, long offset, long length) {
        cancel.check();
        RestoreImageFile f = byDisk[disk];
        if (f != null) {
            f.zero(offset, length);
            tick(f);
        }
    }

    @Override
    public void vmstate(long offset, ByteBuffer data) throws IOException {
        cancel.check();
        if (vmstate != null) {
            vmstate.vmstate(offset, data);
        }
    }

    private void tick(RestoreImageFile f) {
        long now = System.nanoTime();
        if (now - lastReport >= REPORT_NANOS) {
            lastReport = now;
            progress.accept(f);
        }
    }
}
