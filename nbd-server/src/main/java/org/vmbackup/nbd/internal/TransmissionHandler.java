package org.vmbackup.nbd.internal;

import static org.vmbackup.nbd.internal.NbdConstants.*;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.nbd.NbdErrno;

/**
 * Acts on decoded requests of one connection: validates, dispatches to the backend, and writes replies as
 * requests complete (out of order, replies of one event-loop turn flushed together).
 *
 * <p>Back-pressure: every request in flight costs its payload or read length plus a fixed overhead; above the
 * high-water mark the connection stops reading (autoRead off) until completions bring it below the low-water
 * mark, so a slow backend or a client that does not read replies never makes memory grow. All state is
 * touched only on the channel's event loop.
 */
public final class TransmissionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(TransmissionHandler.class);
    private static final long REQUEST_OVERHEAD = 1024;
    /**
     * What a WRITE_ZEROES may hold while in flight: a backend without zero() of its own gets it as writes of a zero
     * buffer of up to 1 MiB (ZeroEmulation), allocated per request. Counted for every backend: one that zeroes
     * natively completes at once or holds as much.
     */
    private static final long ZERO_BUFFER = 1 << 20;

    private final TransmissionSession session;
    private final AtomicBoolean shuttingDown;
    private final long highWater;
    private final long lowWater;
    private RequestExecutor executor;
    private ChannelHandlerContext ctx;
    private long pendingBytes;
    private int inFlight;
    private boolean disconnecting;
    private boolean flushScheduled;
    private boolean closed;
    /**
     * The simple replies (16 bytes each) of requests that completed in this event-loop turn without data to return,
     * written as one buffer when the turn's replies are flushed: per reply, no buffer, promise or outbound entry.
     * A batch whose connection closed meanwhile fails to write, which releases it and its requests like any reply.
     */
    private ByteBuf acks;
    private int acksCount;
    private long acksCost;
    /** Flushes the replies of one event-loop turn together (one instance: no allocation per turn). */
    private final Runnable flush = () -> {
        flushScheduled = false;
        writeAcks();
        ctx.flush();
    };

    /** Lets the request decoder go on with requests it held back while reading was paused. */
    private final Runnable resume = () -> {
        if (!closed) {
            ctx.pipeline().fireUserEventTriggered(RequestDecoder.RESUME);
        }
    };

    /**
     * A handler for a session, pausing reads while more than {@code maxPendingBytes} are in flight, and refusing
     * new requests with ESHUTDOWN once {@code shuttingDown} is set.
     */
    public TransmissionHandler(TransmissionSession session, long maxPendingBytes, AtomicBoolean shuttingDown) {
        this.session = session;
        this.shuttingDown = shuttingDown;
        this.highWater = maxPendingBytes;
        this.lowWater = maxPendingBytes / 2;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.executor = new RequestExecutor(session, ctx.alloc());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof NbdRequest r)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        // Not active: the decoder is decoding what was left when the connection closed (before channelInactive
        // reaches this handler); nobody can get the replies, and the export may already be removed.
        if (disconnecting || closed || !ctx.channel().isActive()) {
            r.discard();
            return;
        }
        if (r.type() == CMD_DISC) {
            r.release();
            disconnecting = true;
            if (inFlight == 0) {
                ctx.close();
            }
            return;
        }
        // A WRITE received in place passed the same check when its header was decoded (WritePlacement).
        RequestValidator.Rejection rejection = shuttingDown.get()
                ? new RequestValidator.Rejection(NbdErrno.ESHUTDOWN.wireValue(), "server shutting down")
                : r.placed() != null ? null : RequestValidator.check(r, session);
        if (rejection != null) {
            log.debug("{}: refusing {}: {}", ctx.channel(), r, rejection.reason());
            session.entry().metrics().failed();
            r.discard();
            writeFrames(errorReply(r.cookie(), r.type(), rejection.error(), rejection.reason()), 0);
            return;
        }
        long cost = REQUEST_OVERHEAD + (r.type() == CMD_READ || r.type() == CMD_WRITE ? r.length()
                : r.type() == CMD_WRITE_ZEROES ? Math.min(r.length(), ZERO_BUFFER) : 0);
        acquire(cost);
        executor.execute(r).whenComplete(new Completion(r, cost));
    }

    /**
     * One request's completion, brought back to the event loop. A class rather than a lambda: one plain allocation
     * per request (C1, which the launcher runs `nbd serve` with, allocates a capturing lambda through a VM call).
     */
    private final class Completion implements BiConsumer<List<ByteBuf>, Throwable>, Runnable {
        private final NbdRequest request;
        private final long cost;
        private List<ByteBuf> frames;
        private Throwable failure;

        Completion(NbdRequest r, long cost) {
            this.request = r;
            this.cost = cost;
        }

        @Override
        public void accept(List<ByteBuf> frames, Throwable failure) {
            // The backend is done with the payload once its future completes. safeRelease: a backend that wrongly
            // released it must not stop the reply from going out. The header fields stay readable.
            ReferenceCountUtil.safeRelease(request);
            this.frames = frames;
            this.failure = failure;
            if (ctx.channel().eventLoop().inEventLoop()) {
                run();
                return;
            }
            try {
                ctx.channel().eventLoop().execute(this);
            } catch (RejectedExecutionException e) {
                // The loop was shut down (a server closed with its own loop) before a backend thread completed the
                // request: its connection is gone and nobody will write, or release, these frames but us.
                if (frames != null) {
                    frames.forEach(ReferenceCountUtil::safeRelease);
                }
            }
        }

        @Override
        public void run() {
            complete(request, frames, failure, cost);
        }
    }

    private void complete(NbdRequest r, List<ByteBuf> frames, Throwable failure, long cost) {
        int type = r.type();
        if (failure != null) {
            NbdErrno errno = ErrorMapper.errnoOf(failure);
            Throwable cause = ErrorMapper.unwrap(failure);
            if (errno == NbdErrno.EIO) {
                log.warn("{}: request type {} failed: {}", ctx.channel(), type, cause.toString());
            } else {
                log.debug("{}: request type {} failed: {}", ctx.channel(), type, cause.toString());
            }
            session.entry().metrics().failed();
            int error = errno.wireValueFor(r.has(CMD_FLAG_FAST_ZERO), r.has(CMD_FLAG_DF));
            writeFrames(errorReply(r.cookie(), type, error, String.valueOf(cause.getMessage())), cost);
            return;
        }
        session.entry().metrics().completed(type, r.length(), r.inPlaceBytes());
        if (frames == RequestExecutor.ACK) {
            addAck(r.cookie(), cost);
            return;
        }
        // A READ's cost is released once its data left the socket, so a client that does not read stalls itself.
        writeFrames(frames, cost);
    }

    private void addAck(long cookie, long cost) {
        if (closed) {
            release(cost);
            return;
        }
        if (acks == null) {
            acks = ctx.alloc().directBuffer(SIMPLE_REPLY_HEADER_SIZE * 16);
        }
        acks.writeInt(SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(cookie);
        acksCount++;
        acksCost += cost;
        inFlight++;
        scheduleFlush();
    }

    private void writeAcks() {
        ByteBuf batch = acks;
        if (batch == null) {
            return;
        }
        acks = null;
        ReplySent sent = new ReplySent(acksCost, acksCount);
        acksCount = 0;
        acksCost = 0;
        ctx.write(batch).addListener(sent);
    }

    private List<ByteBuf> errorReply(long cookie, int type, int error, String message) {
        if (session.structuredReplies() && (type == CMD_READ || type == CMD_BLOCK_STATUS)) {
            return List.of(Replies.errorChunk(ctx.alloc(), cookie, error, message));
        }
        return List.of(Replies.simple(ctx.alloc(), cookie, error));
    }

    private void writeFrames(List<ByteBuf> frames, long cost) {
        if (closed) {
            frames.forEach(ByteBuf::release);
            release(cost);
            return;
        }
        inFlight++;
        int last = frames.size() - 1;
        for (int i = 0; i < last; i++) {
            ctx.write(frames.get(i), ctx.voidPromise());
        }
        ctx.write(frames.get(last)).addListener(new ReplySent(cost, 1));
        scheduleFlush();
    }

    /** Once replies have left: their requests no longer count against back-pressure. */
    private final class ReplySent implements ChannelFutureListener {
        private final long cost;
        private final int replies;

        ReplySent(long cost, int replies) {
            this.cost = cost;
            this.replies = replies;
        }

        @Override
        public void operationComplete(ChannelFuture f) {
            inFlight -= replies;
            release(cost, replies);
            if (disconnecting && inFlight == 0) {
                ctx.close();
            }
        }
    }

    private void scheduleFlush() {
        if (!flushScheduled) {
            flushScheduled = true;
            ctx.channel().eventLoop().execute(flush);
        }
    }

    private void acquire(long cost) {
        inFlight++;
        pendingBytes += cost;
        if (pendingBytes > highWater && ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void release(long cost) {
        release(cost, 1);
    }

    /** Releases {@code requests} requests costing {@code cost} together (0: error replies that never acquired). */
    private void release(long cost, int requests) {
        if (cost == 0) {
            return;
        }
        inFlight -= requests;
        pendingBytes -= cost;
        updateReading();
    }

    private void updateReading() {
        Channel ch = ctx.channel();
        boolean shouldRead = pendingBytes <= lowWater && ch.isWritable() && !disconnecting && !closed;
        if (shouldRead && !ch.config().isAutoRead()) {
            ch.config().setAutoRead(true);
            // Requests received before the pause wait in the decoder; later, not from inside this call, which may
            // come from a write's listener while the decoder is at work.
            ch.eventLoop().execute(resume);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (!ctx.channel().isWritable()) {
            ctx.channel().config().setAutoRead(false);
        } else {
            updateReading();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("{}: closing after {}", ctx.channel(), cause.toString());
        ctx.close();
    }
}
