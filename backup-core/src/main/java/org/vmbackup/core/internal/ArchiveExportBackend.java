package org.vmbackup.core.internal;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveSink;
import org.vmbackup.core.BackupException;
import org.vmbackup.nbd.FuaLevel;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdBackendException;
import org.vmbackup.nbd.NbdErrno;
import org.vmbackup.nbd.NbdWriteTarget;

/**
 * The NBD export of one disk during a backup, and the only place where an NBD write becomes an archive write.
 * Write-only: QEMU's backup job sends WRITE, WRITE_ZEROES and FLUSH, never READ.
 *
 * <p>Every sink call runs on the session's bounded sink executor, never on the NBD event loop, because sink
 * calls block for back-pressure. The NBD future completes once the sink consumed the data, so a slow archive
 * slows the NBD connection and with it QEMU's job; but never for longer than the {@link GuestFirstGuard}'s limit,
 * because copy-before-write holds the guest's writes meanwhile. A sink that fails or stalls past the limit is
 * given up: QEMU gets success, the data is dropped, and the session is told (disk and offset named), so it fails
 * with the archive's reason and cancels the jobs. The server's buffer is retained until the sink call returns,
 * which may be after the answer. Zero ranges go to {@link ArchiveSink#writeZeroes} and cost no data.
 *
 * <p>While the guest is paused, {@link PauseStaging} may acknowledge writes before they are stored (they keep a
 * reference to the server's buffer until then); a failure of such a write can only be reported to the session.
 */
public final class ArchiveExportBackend implements NbdBackend {
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    private final ArchiveSink sink;
    private final int disk;
    private final ArchiveDisk info;
    private final Executor executor;
    private final DiskCounters counters;
    private final GuestFirstGuard guard;
    private final PauseStaging staging;

    /**
     * An export backend for disk number {@code disk} of {@code sink}.
     *
     * @param executor bounded executor for the blocking sink calls
     * @param guard bounds every sink call and is told about sink failures
     * @param staging early acknowledgement while the guest is paused
     */
    public ArchiveExportBackend(ArchiveSink sink, int disk, ArchiveDisk info, Executor executor,
            DiskCounters counters, GuestFirstGuard guard, PauseStaging staging) {
        this.staging = staging;
        this.sink = sink;
        this.disk = disk;
        this.info = info;
        this.executor = executor;
        this.counters = counters;
        this.guard = guard;
    }

    @Override
    public long size() {
        return info.size();
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        return CompletableFuture.failedFuture(new NbdBackendException(NbdErrno.EIO,
                "backup target " + info.name() + " is write-only"));
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
        if (guard.dropping()) {
            return DONE;
        }
        int length = data.readableBytes();
        // ours until the sink call returns, which may be after QEMU got its answer (a stalled archive)
        data.retain();
        CompletableFuture<Void> staged = fua ? null : staging.tryStage(length);
        if (staged != null) {
            staging.defer(() -> run("write", offset, length, () -> store(offset, data, length), data::release)
                    .whenComplete((v, e) -> staged.complete(null)));
            return DONE;
        }
        return run("write", offset, length, () -> store(offset, data, length), data::release);
    }

    /**
     * Whole clusters are received straight into the archive's buffers when the sink has room right now; the commit
     * (a zero-block scan) runs on the event loop and needs no sink thread, so such writes are acknowledged as soon
     * as they arrived, also during the guest pause. Otherwise (no room: the archive output is behind) the server
     * falls back to {@link #write}, which waits on the sink executor: back-pressure as before.
     */
    @Override
    public NbdWriteTarget writeTarget(long offset, int length) {
        if (guard.dropping()) {
            return null; // write() acknowledges without receiving into the archive
        }
        ArchiveSink.InPlaceWrite w = sink.tryReserve(disk, offset, length);
        if (w == null) {
            return null;
        }
        return new NbdWriteTarget() {
            @Override
            public List<ByteBuffer> buffers() {
                return w.buffers();
            }

            @Override
            public CompletableFuture<Void> commit(boolean fua) {
                try {
                    w.commit();
                    counters.addData(length);
                    return CompletableFuture.completedFuture(null);
                } catch (IOException | RuntimeException e) {
                    fail("write", offset, length, e);
                    guard.giveUp(); // success for QEMU: an error would fail the guest's write (see GuestFirstGuard)
                    return DONE;
                }
            }

            @Override
            public void abandon() {
                w.abandon();
                guard.report(new BackupException("the NBD connection of disk " + info.name()
                        + " broke off in the middle of a write at offset " + offset + " (" + length + " bytes)"));
            }
        };
    }

    /** Stores {@code data}, which stays valid until the NBD future (or the staged write's release) completes. */
    private void store(long offset, ByteBuf data, int length) throws IOException {
        if (data.nioBufferCount() == 1) {
            sink.write(disk, offset, data.nioBuffer());
        } else {
            long pos = offset;
            for (ByteBuffer b : data.nioBuffers()) {
                int n = b.remaining();
                sink.write(disk, pos, b);
                pos += n;
            }
        }
        counters.addData(length);
    }

    @Override
    public CompletableFuture<Void> zero(long offset, long length, boolean fua, boolean mayTrim, boolean fastZero) {
        if (guard.dropping()) {
            return DONE;
        }
        return run("write-zeroes", offset, length, () -> {
            sink.writeZeroes(disk, offset, length);
            counters.addZero(length);
        }, () -> { });
    }

    /**
     * Durability comes with the archive's commit, which waits for early-acknowledged writes too; a flush inside
     * the guest pause must stay cheap.
     */
    @Override
    public CompletableFuture<Void> flush() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public FuaLevel fuaLevel() {
        return FuaLevel.EMULATE;
    }

    @Override
    public boolean canFastZero() {
        return true;
    }

    private interface SinkCall {
        void run() throws IOException;
    }

    /**
     * Runs {@code call} on the sink executor, then {@code release}; the answer to QEMU comes from the guard: once
     * the call completed, or failed, or took too long.
     */
    private CompletableFuture<Void> run(String what, long offset, long length, SinkCall call, Runnable release) {
        CompletableFuture<Void> stored = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                BackupException failed = null;
                try {
                    if (!guard.dropping()) { // queued behind a stalled call: nothing is stored any more
                        call.run();
                    }
                } catch (IOException | RuntimeException e) {
                    failed = fail(what, offset, length, e);
                } finally {
                    release.run(); // before anyone hears of the end of the call
                }
                if (failed == null) {
                    stored.complete(null);
                } else {
                    stored.completeExceptionally(failed);
                }
            });
        } catch (RejectedExecutionException e) {
            release.run();
            stored.completeExceptionally(fail(what, offset, length, e));
        }
        return guard.bound(stored, () -> "archive " + sink.describe() + " did not take the " + what + " of disk "
                + info.name() + " at offset " + offset + " (" + length + " bytes) within "
                + guard.limit().toMillis() + " ms (cbw timeout): the backup fails so the guest's writes do not wait");
    }

    private BackupException fail(String what, long offset, long length, Exception e) {
        String reason = e.getMessage() == null ? e.toString() : e.getMessage();
        BackupException be = new BackupException("archive " + sink.describe() + " refused the " + what + " of disk "
                + info.name() + " at offset " + offset + " (" + length + " bytes): " + reason, e);
        guard.report(be);
        return be;
    }
}
