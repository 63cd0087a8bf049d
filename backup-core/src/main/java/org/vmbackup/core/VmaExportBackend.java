package org.vmbackup.core;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdExtent;
import org.vmbackup.vma.VmaBlockStatus;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaIndex;

/**
 * A read-only NBD backend serving one device of an indexed archive: random-access reads through the
 * {@link VmaIndex} (zero blocks read as zeros), and block status reporting the archive's zero blocks as holes
 * (4 KiB granularity). Reads run on the given executor, never on the event loop.
 */
public final class VmaExportBackend implements NbdBackend {
    /** At most this many runs per block-status reply; clients ask again for the rest. */
    private static final int MAX_EXTENTS = 1024;

    private final VmaIndex index;
    private final VmaDevice device;
    private final Executor executor;

    /**
     * A backend for {@code device} of {@code index}.
     *
     * @param executor where the blocking positional file reads run
     */
    public VmaExportBackend(VmaIndex index, VmaDevice device, Executor executor) {
        this.index = Objects.requireNonNull(index, "index");
        this.device = Objects.requireNonNull(device, "device");
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    /** The archive device served. */
    public VmaDevice device() {
        return device;
    }

    @Override
    public long size() {
        return device.size();
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        return CompletableFuture.supplyAsync(() -> {
            ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(length, length);
            try {
                ByteBuffer nio = buf.nioBuffer(0, length);
                int n = index.read(device, offset, nio);
                if (n < length) {
                    throw new BackupException("device " + device.name() + ": short read at offset " + offset);
                }
                buf.writerIndex(length);
                return buf;
            } catch (RuntimeException e) {
                buf.release();
                throw e;
            }
        }, executor);
    }

    @Override
    public CompletableFuture<List<NbdExtent>> extents(long offset, long length) {
        List<NbdExtent> out = new ArrayList<>();
        long end = Math.min(device.size(), offset + length);
        long at = offset;
        while (at < end && out.size() < MAX_EXTENTS) {
            VmaBlockStatus s = index.blockStatus(device, at, end - at);
            out.add(s.zero() ? NbdExtent.hole(at, s.length()) : NbdExtent.data(at, s.length()));
            at += s.length();
        }
        return CompletableFuture.completedFuture(out);
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
