package org.vmbackup.nbd.backend;

import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.vmbackup.nbd.FuaLevel;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdExtent;

/** Serves another backend without any way to change it: writes, zeroing and trim are refused with EPERM. */
public final class ReadOnlyBackend implements NbdBackend {
    private final NbdBackend delegate;

    /** A read-only view of {@code delegate}. */
    public ReadOnlyBackend(NbdBackend delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public long size() {
        return delegate.size();
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        return delegate.read(offset, length);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return delegate.flush();
    }

    @Override
    public CompletableFuture<Void> cache(long offset, long length) {
        return delegate.cache(offset, length);
    }

    @Override
    public CompletableFuture<List<NbdExtent>> extents(long offset, long length) {
        return delegate.extents(offset, length);
    }

    @Override
    public boolean canWrite() {
        return false;
    }

    @Override
    public boolean canFlush() {
        return delegate.canFlush();
    }

    @Override
    public FuaLevel fuaLevel() {
        return FuaLevel.NONE;
    }

    @Override
    public boolean canTrim() {
        return false;
    }

    @Override
    public boolean canMultiConn() {
        return delegate.canMultiConn();
    }

    @Override
    public boolean canCache() {
        return delegate.canCache();
    }

    @Override
    public boolean canExtents() {
        return delegate.canExtents();
    }
}
