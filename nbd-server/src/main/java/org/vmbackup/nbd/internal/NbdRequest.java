package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;
import io.netty.buffer.Unpooled;

/**
 * One decoded transmission request. Reference-counted through its payload: a WRITE carries a retained slice of
 * the inbound bytes, every other request the empty buffer. Whoever receives it releases it once.
 */
public final class NbdRequest extends DefaultByteBufHolder {
    private final int flags;
    private final int type;
    private final long cookie;
    private final long offset;
    private final long length;
    private final boolean payloadDropped;

    /**
     * A decoded request.
     *
     * @param payload the WRITE data (ownership passes to this request) or the empty buffer
     * @param length the header's length field as an unsigned value
     * @param payloadDropped whether the WRITE payload was too large and is being discarded instead
     */
    public NbdRequest(int flags, int type, long cookie, long offset, long length, ByteBuf payload,
                      boolean payloadDropped) {
        super(payload);
        this.flags = flags;
        this.type = type;
        this.cookie = cookie;
        this.offset = offset;
        this.length = length;
        this.payloadDropped = payloadDropped;
    }

    /** A request without payload. */
    public static NbdRequest withoutPayload(int flags, int type, long cookie, long offset, long length) {
        return new NbdRequest(flags, type, cookie, offset, length, Unpooled.EMPTY_BUFFER, false);
    }

    /** Command flags. */
    public int flags() {
        return flags;
    }

    /** Command type. */
    public int type() {
        return type;
    }

    /** Opaque cookie to echo. */
    public long cookie() {
        return cookie;
    }

    /** Offset as sent; negative when the unsigned value exceeds {@link Long#MAX_VALUE}. */
    public long offset() {
        return offset;
    }

    /** Length as an unsigned 32-bit value. */
    public long length() {
        return length;
    }

    /** Whether an oversize WRITE payload was discarded (the request must be refused). */
    public boolean payloadDropped() {
        return payloadDropped;
    }

    /** Whether a flag bit is set. */
    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    @Override
    public String toString() {
        return "NbdRequest[type=" + type + ", flags=0x" + Integer.toHexString(flags) + ", offset=" + offset
                + ", length=" + length + ", cookie=0x" + Long.toHexString(cookie) + "]";
    }
}
