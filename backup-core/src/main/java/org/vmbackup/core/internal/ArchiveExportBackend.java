package org.vmbackup.core.internal;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
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
 * calls block for back-pressure. The NBD future completes only once the sink consumed the data, which is also
 * when the server may release the buffer; so a slow archive slows the NBD connection and with it QEMU's job.
 * Zero ranges go to {@link ArchiveSink#writeZeroes} and cost no data.
 *
 * <p>The first sink failure is reported once to {@code onFailure} with the disk and offset named, so the session
 * fails with the archive's reason rather than QEMU's generic job error.
 *
 * <p>While the guest is paused, {@link PauseStaging} may acknowledge writes before they are stored (they keep a
 * reference to the server's buffer until then); a failure of such a write can only be reported to the session.
 */
public final class ArchiveExportBackend implements NbdBackend {
    private final ArchiveSink sink;
    private final int disk;
    private final ArchiveDisk info;
    private final Executor executor;
    private final DiskCounters counters;
    private final Consumer<BackupException> onFailure;
    private final PauseStaging staging;

    /**
     * An export backend for disk number {@code disk} of {@code sink}.
     *
     * @param executor bounded executor for the blocking sink calls
     * @param onFailure told about sink failures (may be called more than once, from any thread)
     * @param staging early acknowledgement while the guest is paused
     */
    public ArchiveExportBackend(ArchiveSink sink, int disk, ArchiveDisk info, Executor executor,
            DiskCounters counters, Consumer<BackupException> onFailure, PauseStaging staging) {
        this.staging = staging;
        this.sink = sink;
        this.disk = disk;
        this.info = info;
        this.executor = executor;
        this.counters = counters;
        this.onFailure = onFailure;
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
        int length = data.readableBytes();
        CompletableFuture<Void> staged = fua ? null : staging.tryStage(length);
        if (staged != null) {
            data.retain(); // ours until stored: the server releases its own reference when we acknowledge
            staging.defer(() -> run("write", offset, length, () -> store(offset, data, length))
                    .whenComplete((v, e) -> {
                        data.release();
                        staged.complete(null);
                    }));
            return CompletableFuture.completedFuture(null);
        }
        return run("write", offset, length, () -> store(offset, data, length));
    }

    /**
     * Whole clusters are received straight into the archive's buffers when the sink has room right now; the commit
     * (a zero-block scan) runs on the event loop and needs no sink thread, so such writes are acknowledged as soon
     * as they arrived, also during the guest pause. Otherwise (no room: the archive output is behind) the server
     * falls back to {@link #write}, which waits on the sink executor: back-pressure as before.
     */
    @Override
    public NbdWriteTarget writeTarget(long offset, int length) {
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
                    return CompletableFuture.failedFuture(fail("write", offset, length, e));
                }
            }

            @Override
            public void abandon() {
                w.abandon();
                onFailure.accept(new BackupException("the NBD connection of disk " + info.name()
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
        return run("write-zeroes", offset, length, () -> {
            sink.writeZeroes(disk, offset, length);
            counters.addZero(length);
        });
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

    private CompletableFuture<Void> run(String what, long offset, long length, SinkCall call) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    call.run();
                    done.complete(null);
                } catch (IOException | RuntimeException e) {
                    done.completeExceptionally(fail(what, offset, length, e));
                }
            });
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(fail(what, offset, length, e));
        }
        return done;
    }

    private NbdBackendException fail(String what, long offset, long length, Exception e) {
        String reason = e.getMessage() == null ? e.toString() : e.getMessage();
        BackupException be = new BackupException("archive " + sink.describe() + " refused the " + what + " of disk "
                + info.name() + " at offset " + offset + " (" + length + " bytes): " + reason, e);
        onFailure.accept(be);
        NbdErrno errno = reason.contains("No space left") ? NbdErrno.ENOSPC : NbdErrno.EIO;
        return new NbdBackendException(errno, be.getMessage(), e);
    }
}
