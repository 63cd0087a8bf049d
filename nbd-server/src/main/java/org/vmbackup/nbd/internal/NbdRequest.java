package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;
import io.netty.buffer.Unpooled;
import org.vmbackup.nbd.NbdWriteTarget;

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
    private final NbdWriteTarget placed;
    private final long inPlaceBytes;

    /**
     * A decoded request.
     *
     * @param payload the WRITE data (ownership passes to this request) or the empty buffer
     * @param length the header's length field as an unsigned value
     * @param payloadDropped whether the WRITE payload was too large and is being discarded instead
     */
    public NbdRequest(int flags, int type, long cookie, long offset, long length, ByteBuf payload,
                      boolean payloadDropped) {
        this(flags, type, cookie, offset, length, payload, payloadDropped, null, 0);
    }

    private NbdRequest(int flags, int type, long cookie, long offset, long length, ByteBuf payload,
                       boolean payloadDropped, NbdWriteTarget placed, long inPlaceBytes) {
        super(payload);
        this.placed = placed;
        this.inPlaceBytes = inPlaceBytes;
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

    /**
     * A WRITE whose payload was received into backend memory: it carries no buffer, and whoever receives it either
     * commits the target or calls {@link #discard()}.
     *
     * @param inPlaceBytes how many of its bytes the socket delivered straight into the target (the rest had come
     *        with earlier reads and were copied in)
     */
    public static NbdRequest placedWrite(int flags, long cookie, long offset, long length, NbdWriteTarget target,
                                         long inPlaceBytes) {
        return new NbdRequest(flags, NbdConstants.CMD_WRITE, cookie, offset, length, Unpooled.EMPTY_BUFFER, false,
                target, inPlaceBytes);
    }

    /** Bytes of this WRITE's payload that no user-space copy touched (0 unless {@link #placed()}). */
    public long inPlaceBytes() {
        return inPlaceBytes;
    }

    /** The backend memory holding this WRITE's payload, or null when the payload is {@link #content()}. */
    public NbdWriteTarget placed() {
        return placed;
    }

    /** Releases the request without performing it, abandoning a placed payload. */
    public void discard() {
        release();
        if (placed != null) {
            placed.abandon();
        }
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
