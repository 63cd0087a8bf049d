package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.ByteBuffer;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.nbd.NbdWriteTarget;

/**
 * Frames transmission-phase bytes into {@link NbdRequest}s and does nothing else. WRITE payloads are passed on
 * as retained slices of the inbound buffers (no copy); a payload over the limit is skipped as it arrives and
 * the request is flagged so the handler refuses it. A bad request magic closes the connection: there is no
 * way to find the next header.
 *
 * <p>When a {@link WritePlacement} offers backend memory for a WRITE whose payload has not fully arrived yet, the
 * decoder steers the channel's socket reads straight into that memory through {@link DirectReceive} (bytes that
 * came with the header are copied in first) and emits the request once the last byte landed: the payload then
 * crosses user space zero times instead of once. From then on the connection reads each request header alone, so
 * the next WRITE's payload cannot arrive with its header.
 */
public final class RequestDecoder extends ByteToMessageDecoder {
    private static final Logger log = LoggerFactory.getLogger(RequestDecoder.class);

    private enum State { HEADER, PAYLOAD, PLACE, DRAIN, BROKEN }

    /**
     * Fired through the pipeline once the connection reads again after a pause: decodes the requests that had
     * already been received when it paused (nothing else would, if the client sends no more).
     */
    static final Object RESUME = new Object() {
        @Override
        public String toString() {
            return "RequestDecoder.RESUME";
        }
    };

    private final int maxPayload;
    private final WritePlacement placement;
    private DirectReceive slot;
    private NbdWriteTarget target;
    private List<ByteBuffer> targetBuffers;
    private int targetIndex;
    private long placeRemaining;
    private long placedCopied;
    /** Whether the current target is heap memory, filled by copying from receive buffers instead of by reads. */
    private boolean copyInto;
    /**
     * Whether reads are limited to one request header (as nbdkit reads them): from a WRITE received in place until
     * one is not, so that the next WRITE's payload is never pulled into a pooled buffer along with its header.
     */
    private boolean headerReads;
    private State state = State.HEADER;
    private int flags;
    private int type;
    private long cookie;
    private long offset;
    private long length;
    private long drainRemaining;

    /** A decoder accepting WRITE payloads of at most {@code maxPayload} bytes, always into pooled buffers. */
    public RequestDecoder(int maxPayload) {
        this(maxPayload, null);
    }

    /**
     * A decoder accepting WRITE payloads of at most {@code maxPayload} bytes, receiving them into backend memory
     * where {@code placement} offers it (null: never).
     */
    RequestDecoder(int maxPayload, WritePlacement placement) {
        this.maxPayload = maxPayload;
        this.placement = placement;
        setCumulator(COMPOSITE_CUMULATOR);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        slot = placement == null ? null : DirectReceive.of(ctx.channel());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        int n = slot == null ? -1 : slot.takeFilled(msg);
        if (n < 0) {
            super.channelRead(ctx, msg);
            return;
        }
        ByteBuffer b = targetBuffers.get(targetIndex);
        b.position(b.position() + n);
        placeRemaining -= n;
        if (placeRemaining == 0) {
            ctx.fireChannelRead(placedRequest());
        } else {
            armNext();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt != RESUME) {
            super.userEventTriggered(ctx, evt);
        } else if (internalBuffer().isReadable() && ctx.channel().config().isAutoRead()) {
            super.channelRead(ctx, Unpooled.EMPTY_BUFFER); // decodes what is cumulated
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (state == State.HEADER && !ctx.channel().config().isAutoRead() && internalBuffer().isReadable()) {
            // Paused with requests waiting: ByteToMessageDecoder would ask for another read because this one decoded
            // nothing (under TLS the SslHandler hands over bytes read for a partial record), and then another, each
            // cumulated: the client's bytes would pile up here unbounded. RESUME decodes them.
            ctx.fireChannelReadComplete();
            return;
        }
        super.channelReadComplete(ctx);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (slot != null) {
            slot.close();
        }
        if (state == State.PLACE) {
            state = State.BROKEN;
            NbdWriteTarget abandoned = target;
            target = null;
            targetBuffers = null;
            abandoned.abandon();
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        boolean progress = true;
        // While the connection is paused (too much in flight, or replies not read) no new request starts: pausing
        // only stops socket reads, and one read may carry tens of thousands of headers. The rest stays cumulated
        // until TransmissionHandler resumes (RESUME). One request per call, so that the handler has seen it (and
        // maybe paused) before the next header is looked at.
        while (progress && out.isEmpty() && in.isReadable()
                && (state != State.HEADER || ctx.channel().config().isAutoRead())) {
            progress = switch (state) {
                case HEADER -> header(ctx, in, out);
                case PAYLOAD -> payload(in, out);
                case PLACE -> place(in, out);
                case DRAIN -> drain(in);
                case BROKEN -> {
                    in.skipBytes(in.readableBytes());
                    yield false;
                }
            };
        }
    }

    private boolean header(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < NbdConstants.REQUEST_HEADER_SIZE) {
            if (headerReads) {
                slot.limitReads(NbdConstants.REQUEST_HEADER_SIZE - in.readableBytes());
            }
            return false;
        }
        if (headerReads) {
            slot.limitReads(NbdConstants.REQUEST_HEADER_SIZE); // may have been the rest of a partial header
        }
        int magic = in.readInt();
        if (magic != NbdConstants.REQUEST_MAGIC) {
            log.debug("{}: bad request magic 0x{}, closing", ctx.channel(), Integer.toHexString(magic));
            state = State.BROKEN;
            in.skipBytes(in.readableBytes());
            ctx.close();
            return false;
        }
        flags = in.readUnsignedShort();
        type = in.readUnsignedShort();
        cookie = in.readLong();
        offset = in.readLong();
        length = in.readUnsignedInt();
        if (type != NbdConstants.CMD_WRITE || length == 0) {
            out.add(NbdRequest.withoutPayload(flags, type, cookie, offset, length));
            return true;
        }
        if (length > maxPayload) {
            fullReads();
            out.add(new NbdRequest(flags, type, cookie, offset, length, io.netty.buffer.Unpooled.EMPTY_BUFFER, true));
            drainRemaining = length;
            state = State.DRAIN;
            return true;
        }
        if (slot != null && in.readableBytes() < length) {
            NbdWriteTarget t = placement.targetFor(flags, cookie, offset, (int) length);
            if (t != null && !fits(t, length)) {
                log.warn("{}: backend write target for offset {} does not hold {} bytes, ignoring it", ctx.channel(),
                        offset, length);
                t.abandon();
                t = null;
            }
            if (t != null) {
                target = t;
                targetBuffers = t.buffers();
                targetIndex = 0;
                placeRemaining = length;
                placedCopied = 0;
                state = State.PLACE;
                // The native transport reads only into native memory (a heap target failed the read, and with it
                // the connection): heap targets get the payload through receive buffers, copied in as it arrives.
                copyInto = !direct(t);
                if (copyInto) {
                    fullReads();
                }
                // At once, not on the next pass of the decode loop: with the header read alone, nothing is left
                // to decode and the loop would end before the very next read is steered into the target.
                return place(in, out);
            }
        }
        fullReads();
        state = State.PAYLOAD;
        return true;
    }

    /** Back to reads of any size: this payload goes through pooled receive buffers. */
    private void fullReads() {
        if (headerReads) {
            headerReads = false;
            slot.limitReads(0);
        }
    }

    /** Copies payload bytes that came with earlier reads into the target, then steers the next read into it. */
    private boolean place(ByteBuf in, List<Object> out) {
        while (placeRemaining > 0 && in.isReadable()) {
            ByteBuffer b = currentTarget();
            int n = (int) Math.min(in.readableBytes(), b.remaining());
            int limit = b.limit();
            b.limit(b.position() + n);
            in.readBytes(b);
            b.limit(limit);
            placeRemaining -= n;
            placedCopied += n;
        }
        if (placeRemaining == 0) {
            out.add(placedRequest());
            return true;
        }
        armNext();
        return false;
    }

    private static boolean fits(NbdWriteTarget t, long length) {
        long room = 0;
        for (ByteBuffer b : t.buffers()) {
            room += b.remaining();
        }
        return room == length;
    }

    private static boolean direct(NbdWriteTarget t) {
        for (ByteBuffer b : t.buffers()) {
            if (!b.isDirect()) {
                return false;
            }
        }
        return true;
    }

    private ByteBuffer currentTarget() {
        ByteBuffer b = targetBuffers.get(targetIndex);
        while (!b.hasRemaining()) {
            b = targetBuffers.get(++targetIndex);
        }
        return b;
    }

    private void armNext() {
        if (copyInto) {
            return; // place() copies the next bytes in when they reach the decoder
        }
        ByteBuffer b = currentTarget();
        // A view of the backend's memory (never freed by Netty) that the next socket read fills from index 0.
        slot.arm(Unpooled.wrappedBuffer(b.slice()).clear());
    }

    private NbdRequest placedRequest() {
        NbdRequest r = NbdRequest.placedWrite(flags, cookie, offset, length, target, length - placedCopied);
        if (!copyInto) {
            headerReads = true;
            slot.limitReads(NbdConstants.REQUEST_HEADER_SIZE);
        }
        target = null;
        targetBuffers = null;
        state = State.HEADER;
        return r;
    }

    private boolean payload(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < length) {
            return false;
        }
        ByteBuf data = in.readRetainedSlice((int) length);
        out.add(new NbdRequest(flags, type, cookie, offset, length, data, false));
        state = State.HEADER;
        return true;
    }

    private boolean drain(ByteBuf in) {
        int n = (int) Math.min(drainRemaining, in.readableBytes());
        in.skipBytes(n);
        drainRemaining -= n;
        if (drainRemaining == 0) {
            state = State.HEADER;
        }
        return true;
    }
}
