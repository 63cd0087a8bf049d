package org.vmbackup.core.internal;

import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdExtent;

/**
 * The export of one archive disk while the archive is still being indexed: the size (from the archive's layout) and
 * the capabilities are known at once, so clients can connect; reads and block-status requests wait for the real
 * backend, and fail with the scan's error if the archive turns out to be bad.
 */
public final class DeferredExportBackend implements NbdBackend {
    private final long size;
    private final CompletableFuture<? extends NbdBackend> backend;

    /** Serves a disk of {@code size} bytes through {@code backend} once it completes. */
    public DeferredExportBackend(long size, CompletableFuture<? extends NbdBackend> backend) {
        this.size = size;
        this.backend = Objects.requireNonNull(backend, "backend");
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        NbdBackend now = ready();
        return now != null ? now.read(offset, length) : backend.thenCompose(b -> b.read(offset, length));
    }

    @Override
    public CompletableFuture<List<NbdExtent>> extents(long offset, long length) {
        NbdBackend now = ready();
        return now != null ? now.extents(offset, length) : backend.thenCompose(b -> b.extents(offset, length));
    }

    /** The backend if it is ready (the common case once the scan ended: no extra stage per request), else null. */
    private NbdBackend ready() {
        return backend.isDone() && !backend.isCompletedExceptionally() ? backend.join() : null;
    }

    @Override
    public boolean canWrite() {
        return false;
    }

    @Override
    public boolean canMultiConn() {
        return true; // read-only: every connection sees the same bytes
    }

    @Override
    public boolean canExtents() {
        return true;
    }
}
