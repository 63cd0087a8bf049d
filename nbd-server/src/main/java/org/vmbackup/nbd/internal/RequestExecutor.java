package org.vmbackup.nbd.internal;

import static org.vmbackup.nbd.internal.NbdConstants.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.vmbackup.nbd.FuaLevel;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdBackendException;
import org.vmbackup.nbd.NbdErrno;
import org.vmbackup.nbd.NbdExtent;

/**
 * Runs validated requests against the backend and builds the success reply frames. Emulates FUA with a flush
 * where the backend asks for that, and turns the backend's extents into well-formed hole chunks and status
 * descriptors. The request's payload stays owned by the caller.
 */
final class RequestExecutor {
    /** Past this many data pieces a structured READ is sent as one data chunk instead. */
    private static final int MAX_READ_PIECES = 32;

    private final TransmissionSession session;
    private final NbdBackend backend;
    private final ByteBufAllocator alloc;

    RequestExecutor(TransmissionSession session, ByteBufAllocator alloc) {
        this.session = session;
        this.backend = session.entry().export().backend();
        this.alloc = alloc;
    }

    /**
     * The frames of a successful request that has no data to return: not frames at all but a marker, so the caller
     * writes the 16-byte simple reply itself (TransmissionHandler batches them) and no buffer is made for it.
     * Compared by identity.
     */
    static final List<ByteBuf> ACK = java.util.Collections.unmodifiableList(new ArrayList<>(0));
    private static final CompletableFuture<List<ByteBuf>> ACKED = CompletableFuture.completedFuture(ACK);

    /**
     * The reply frames for a successful request, in order, or {@link #ACK}; ownership of frames passes to the
     * caller.
     */
    CompletableFuture<List<ByteBuf>> execute(NbdRequest r) {
        return switch (r.type()) {
            case CMD_READ -> read(r);
            case CMD_WRITE -> write(r);
            case CMD_WRITE_ZEROES -> zero(r);
            case CMD_TRIM -> ack(withFua(r, () -> backend.trim(r.offset(), r.length(), nativeFua(r))));
            case CMD_FLUSH -> ack(call(backend::flush));
            case CMD_CACHE -> ack(call(() -> backend.cache(r.offset(), r.length())));
            case CMD_BLOCK_STATUS -> blockStatus(r);
            default -> CompletableFuture.failedFuture(new NbdBackendException(NbdErrno.EINVAL, "unknown command"));
        };
    }

    /** The hot path of a backup: no lambdas, and a backend that completed at once gets its reply at once. */
    private CompletableFuture<List<ByteBuf>> write(NbdRequest r) {
        CompletableFuture<Void> done;
        try {
            done = r.placed() != null ? r.placed().commit(nativeFua(r))
                    : backend.write(r.offset(), r.content(), nativeFua(r));
        } catch (RuntimeException e) {
            done = CompletableFuture.failedFuture(e);
        }
        return ack(withFua(r, nonNull(done)));
    }

    private boolean nativeFua(NbdRequest r) {
        return r.has(CMD_FLAG_FUA) && session.caps().fua() == FuaLevel.NATIVE;
    }

    private CompletableFuture<Void> withFua(NbdRequest r, Supplier<CompletableFuture<Void>> op) {
        return withFua(r, call(op));
    }

    /** {@code done}, followed by a flush where the request asks for FUA and the backend has it only as a flush. */
    private CompletableFuture<Void> withFua(NbdRequest r, CompletableFuture<Void> done) {
        if (r.has(CMD_FLAG_FUA) && session.caps().fua() == FuaLevel.EMULATE) {
            return done.thenCompose(v -> call(backend::flush));
        }
        return done;
    }

    private CompletableFuture<List<ByteBuf>> zero(NbdRequest r) {
        boolean fast = r.has(CMD_FLAG_FAST_ZERO);
        if (fast && !session.caps().fastZero()) {
            return CompletableFuture.failedFuture(new NbdBackendException(NbdErrno.ENOTSUP, "zeroing is not fast"));
        }
        if (r.length() == 0) {
            return ack(CompletableFuture.completedFuture(null));
        }
        boolean mayTrim = !r.has(CMD_FLAG_NO_HOLE);
        return ack(withFua(r, () -> backend.zero(r.offset(), r.length(), nativeFua(r), mayTrim, fast)));
    }

    private CompletableFuture<List<ByteBuf>> read(NbdRequest r) {
        int length = (int) r.length();
        long cookie = r.cookie();
        if (!session.structuredReplies()) {
            if (length == 0) {
                return CompletableFuture.completedFuture(List.of(Replies.simple(alloc, cookie, 0)));
            }
            return readData(r.offset(), length).thenApply(data -> List.of(Replies.simple(alloc, cookie, 0), data));
        }
        if (length == 0) {
            return CompletableFuture.completedFuture(List.of(Replies.noneChunk(alloc, cookie)));
        }
        if (!session.caps().extents() || r.has(CMD_FLAG_DF)) {
            return readData(r.offset(), length).thenApply(data -> List.of(
                    Replies.dataChunkHeader(alloc, cookie, r.offset(), length, true), data));
        }
        return call(() -> backend.extents(r.offset(), length))
                .thenCompose(extents -> readPieces(cookie, ExtentPlan.pieces(r.offset(), length, extents,
                        MAX_READ_PIECES)));
    }

    /** Reads the data pieces and emits every piece as a chunk, in offset order, the last one flagged DONE. */
    private CompletableFuture<List<ByteBuf>> readPieces(long cookie, List<NbdExtent> pieces) {
        List<CompletableFuture<ByteBuf>> reads = new ArrayList<>(pieces.size());
        for (NbdExtent p : pieces) {
            reads.add(p.zero() ? null : readData(p.offset(), (int) p.length()));
        }
        CompletableFuture<?>[] pending = reads.stream().filter(f -> f != null).toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(pending).handle((v, failure) -> {
            if (failure != null) {
                for (CompletableFuture<ByteBuf> f : reads) {
                    if (f != null && !f.isCompletedExceptionally()) {
                        f.join().release();
                    }
                }
                throw new java.util.concurrent.CompletionException(ErrorMapper.unwrap(failure));
            }
            List<ByteBuf> frames = new ArrayList<>(pieces.size() * 2);
            for (int i = 0; i < pieces.size(); i++) {
                NbdExtent p = pieces.get(i);
                boolean last = i == pieces.size() - 1;
                if (p.zero()) {
                    frames.add(Replies.holeChunk(alloc, cookie, p.offset(), (int) p.length(), last));
                } else {
                    frames.add(Replies.dataChunkHeader(alloc, cookie, p.offset(), (int) p.length(), last));
                    frames.add(reads.get(i).join());
                }
            }
            return frames;
        });
    }

    private CompletableFuture<ByteBuf> readData(long offset, int length) {
        return call(() -> backend.read(offset, length)).thenApply(buf -> {
            if (buf.readableBytes() != length) {
                int got = buf.readableBytes();
                buf.release();
                throw new NbdBackendException(NbdErrno.EIO, "backend read returned " + got + " bytes instead of "
                        + length + " at offset " + offset);
            }
            return buf;
        });
    }

    private CompletableFuture<List<ByteBuf>> blockStatus(NbdRequest r) {
        long length = Math.min(r.length(), session.size() - r.offset());
        boolean one = r.has(CMD_FLAG_REQ_ONE);
        CompletableFuture<List<NbdExtent>> extents = session.caps().extents()
                ? call(() -> backend.extents(r.offset(), length))
                : CompletableFuture.completedFuture(List.of(NbdExtent.data(r.offset(), length)));
        return extents.thenApply(list -> List.of(Replies.blockStatusChunk(alloc, r.cookie(), BASE_ALLOCATION_ID,
                ExtentPlan.descriptors(r.offset(), length, list, one ? 1 : MAX_EXTENTS_PER_REPLY))));
    }

    private static CompletableFuture<List<ByteBuf>> ack(CompletableFuture<Void> done) {
        if (done.isDone() && !done.isCompletedExceptionally()) {
            return ACKED;
        }
        return done.thenApply(v -> ACK);
    }

    private static <T> CompletableFuture<T> call(Supplier<CompletableFuture<T>> op) {
        try {
            return nonNull(op.get());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static <T> CompletableFuture<T> nonNull(CompletableFuture<T> f) {
        return f != null ? f : CompletableFuture.failedFuture(new NullPointerException("backend returned null"));
    }
}
