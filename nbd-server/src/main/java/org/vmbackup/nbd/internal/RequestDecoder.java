package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frames transmission-phase bytes into {@link NbdRequest}s and does nothing else. WRITE payloads are passed on
 * as retained slices of the inbound buffers (no copy); a payload over the limit is skipped as it arrives and
 * the request is flagged so the handler refuses it. A bad request magic closes the connection: there is no
 * way to find the next header.
 */
public final class RequestDecoder extends ByteToMessageDecoder {
    private static final Logger log = LoggerFactory.getLogger(RequestDecoder.class);

    private enum State { HEADER, PAYLOAD, DRAIN, BROKEN }

    private final int maxPayload;
    private State state = State.HEADER;
    private int flags;
    private int type;
    private long cookie;
    private long offset;
    private long length;
    private long drainRemaining;

    /** A decoder accepting WRITE payloads of at most {@code maxPayload} bytes. */
    public RequestDecoder(int maxPayload) {
        this.maxPayload = maxPayload;
        setCumulator(COMPOSITE_CUMULATOR);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        boolean progress = true;
        while (progress && in.isReadable()) {
            progress = switch (state) {
                case HEADER -> header(ctx, in, out);
                case PAYLOAD -> payload(in, out);
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
            return false;
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
            out.add(new NbdRequest(flags, type, cookie, offset, length, io.netty.buffer.Unpooled.EMPTY_BUFFER, true));
            drainRemaining = length;
            state = State.DRAIN;
            return true;
        }
        state = State.PAYLOAD;
        return true;
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
