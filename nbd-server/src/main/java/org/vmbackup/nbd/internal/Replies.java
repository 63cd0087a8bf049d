package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.util.List;
import org.vmbackup.nbd.NbdExtent;

/** Builds transmission-phase reply frames (simple replies and structured chunks); each call returns a new buffer. */
final class Replies {
    /** QEMU refuses non-data chunks over 1000 bytes: keep error messages well below. */
    private static final int MAX_MESSAGE = 200;

    private Replies() {
    }

    static ByteBuf simple(ByteBufAllocator alloc, long cookie, int error) {
        ByteBuf b = alloc.directBuffer(NbdConstants.SIMPLE_REPLY_HEADER_SIZE);
        b.writeInt(NbdConstants.SIMPLE_REPLY_MAGIC).writeInt(error).writeLong(cookie);
        return b;
    }

    private static ByteBuf chunkHeader(ByteBufAllocator alloc, int extra, boolean done, int type, long cookie,
                                       long length) {
        ByteBuf b = alloc.directBuffer(NbdConstants.STRUCTURED_REPLY_HEADER_SIZE + extra);
        b.writeInt(NbdConstants.STRUCTURED_REPLY_MAGIC).writeShort(done ? NbdConstants.REPLY_FLAG_DONE : 0)
                .writeShort(type).writeLong(cookie).writeInt((int) length);
        return b;
    }

    /** The header and offset of an OFFSET_DATA chunk; the caller writes {@code dataLength} data bytes after it. */
    static ByteBuf dataChunkHeader(ByteBufAllocator alloc, long cookie, long offset, int dataLength, boolean done) {
        ByteBuf b = chunkHeader(alloc, 8, done, NbdConstants.CHUNK_OFFSET_DATA, cookie, 8L + dataLength);
        b.writeLong(offset);
        return b;
    }

    static ByteBuf holeChunk(ByteBufAllocator alloc, long cookie, long offset, int length, boolean done) {
        ByteBuf b = chunkHeader(alloc, 12, done, NbdConstants.CHUNK_OFFSET_HOLE, cookie, 12);
        b.writeLong(offset).writeInt(length);
        return b;
    }

    static ByteBuf noneChunk(ByteBufAllocator alloc, long cookie) {
        return chunkHeader(alloc, 0, true, NbdConstants.CHUNK_NONE, cookie, 0);
    }

    static ByteBuf errorChunk(ByteBufAllocator alloc, long cookie, int error, String message) {
        String msg = message == null ? "" : message;
        if (msg.length() > MAX_MESSAGE) {
            msg = msg.substring(0, MAX_MESSAGE);
        }
        int msgLen = ByteBufUtil.utf8Bytes(msg);
        ByteBuf b = chunkHeader(alloc, 6 + msgLen, true, NbdConstants.CHUNK_ERROR, cookie, 6L + msgLen);
        b.writeInt(error).writeShort(msgLen);
        ByteBufUtil.writeUtf8(b, msg);
        return b;
    }

    static ByteBuf blockStatusChunk(ByteBufAllocator alloc, long cookie, int contextId, List<NbdExtent> extents) {
        int len = 4 + 8 * extents.size();
        ByteBuf b = chunkHeader(alloc, len, true, NbdConstants.CHUNK_BLOCK_STATUS, cookie, len);
        b.writeInt(contextId);
        for (NbdExtent e : extents) {
            b.writeInt((int) e.length()).writeInt(e.flags());
        }
        return b;
    }
}
