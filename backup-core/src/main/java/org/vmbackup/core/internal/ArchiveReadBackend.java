package org.vmbackup.core.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.BlockStatus;
import org.vmbackup.core.RandomAccessDisk;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdExtent;

/**
 * A read-only NBD backend serving one disk of an archive through its {@link RandomAccessDisk}, whatever the format:
 * reads are the disk's reads (holes read as zeros), block status is the disk's hole/data runs. Both run on the given
 * executor, never on the event loop: a source may do file I/O for either (a directory archive finds holes by
 * reading). Not to be confused with {@link ArchiveExportBackend}, the backup side's write target.
 */
public final class ArchiveReadBackend implements NbdBackend {
    /**
     * Block-status runs of one status merged into the extent of a request: a directory archive reports at most
     * 1 MiB per run, so a long data range would otherwise cost a round trip per MiB.
     */
    private static final int MAX_RUNS = 16;
    private static final int PEEK = 4096;
    /**
     * How far past a short request a run is looked up: the server asks for the extents of every READ (to send holes
     * as holes), and a client reads a run in pieces (qemu-img: 2 MiB), so the run found for the first piece answers
     * the next ones from {@link #known} without a trip to the read threads.
     */
    private static final long LOOKAHEAD = 8L << 20;
    /** Runs remembered at most (about 100 bytes each); then the memory starts over. */
    private static final int MAX_KNOWN = 1 << 16;

    private final RandomAccessDisk disk;
    private final Executor executor;
    /**
     * Runs found so far, by start offset (each as far as it was looked up): a client's parallel readers (qemu-img
     * convert runs several) each find their run here, where one remembered run would be replaced under them.
     */
    private final ConcurrentSkipListMap<Long, NbdExtent> known = new ConcurrentSkipListMap<>();
    private final AtomicInteger knownCount = new AtomicInteger();

    /**
     * A backend for {@code disk}.
     *
     * @param executor where the blocking archive reads run
     */
    public ArchiveReadBackend(RandomAccessDisk disk, Executor executor) {
        this.disk = Objects.requireNonNull(disk, "disk");
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    @Override
    public long size() {
        return disk.disk().size();
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        return CompletableFuture.supplyAsync(() -> {
            ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(length, length);
            try {
                ByteBuffer nio = buf.nioBuffer(0, length);
                int n = disk.read(offset, nio);
                if (n < length) {
                    throw new BackupException("disk " + disk.disk().name() + ": short read at offset " + offset);
                }
                buf.writerIndex(length);
                return buf;
            } catch (IOException e) {
                buf.release();
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                buf.release();
                throw e;
            }
        }, executor);
    }

    @Override
    public CompletableFuture<List<NbdExtent>> extents(long offset, long length) {
        long end = Math.min(size(), offset + length);
        if (offset >= end) {
            return CompletableFuture.completedFuture(List.of());
        }
        Map.Entry<Long, NbdExtent> at = known.floorEntry(offset);
        NbdExtent run = at == null ? null : at.getValue();
        if (run != null && offset < run.end()) {
            return CompletableFuture.completedFuture(List.of(extent(offset, Math.min(run.end(), end) - offset,
                    run.hole())));
        }
        long lookTo = Math.min(size(), Math.max(end, offset + LOOKAHEAD));
        if (disk.blockStatusInMemory()) {
            // answered here on the network thread, as the VMA export did from its table before the ArchiveSource
            // work: a hop to the read threads queues the answer behind up to a few 2 MiB reads, and the client
            // waits for it before its next read (restore to qcow2 of a 1 GiB .vma: 1.7 s then, 2.3-2.5 s with the hop)
            try {
                return CompletableFuture.completedFuture(List.of(remember(offset, end, run(offset, lookTo))));
            } catch (IOException | RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                return List.of(remember(offset, end, run(offset, lookTo)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, executor);
    }

    /** Keeps {@code found} for the next requests and returns its part in {@code [offset, end)}. */
    private NbdExtent remember(long offset, long end, NbdExtent found) {
        if (knownCount.incrementAndGet() > MAX_KNOWN) {
            known.clear();
            knownCount.set(1);
        }
        known.put(found.offset(), found);
        return extent(offset, Math.min(found.end(), end) - offset, found.hole());
    }

    /**
     * The run at {@code offset} up to at most {@code end}, merged with the following runs of the same status: the one
     * extent of a reply. A reply may stop short of the range asked for, and QEMU asks for one extent at a time
     * (NBD_CMD_FLAG_REQ_ONE): going on past a change of status would scan runs the client never looks at.
     */
    private NbdExtent run(long offset, long end) throws IOException {
        BlockStatus first = disk.blockStatus(offset, end - offset);
        long at = offset + first.length();
        for (int i = 1; i < MAX_RUNS && at < end; i++) {
            // a one-block look first: a run of the other status may be long, and its length is not needed
            if (disk.blockStatus(at, Math.min(end - at, PEEK)).hole() != first.hole()) {
                break;
            }
            at += disk.blockStatus(at, end - at).length();
        }
        return extent(offset, at - offset, first.hole());
    }

    private static NbdExtent extent(long offset, long length, boolean hole) {
        return hole ? NbdExtent.hole(offset, length) : NbdExtent.data(offset, length);
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
