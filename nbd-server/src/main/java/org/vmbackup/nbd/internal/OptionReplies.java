package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;

/** Builds handshake-phase frames: the greeting and option replies. */
final class OptionReplies {
    private OptionReplies() {
    }

    static ByteBuf greeting(ByteBufAllocator alloc) {
        ByteBuf b = alloc.buffer(18);
        b.writeLong(NbdConstants.NBDMAGIC).writeLong(NbdConstants.IHAVEOPT)
                .writeShort(NbdConstants.FLAG_FIXED_NEWSTYLE | NbdConstants.FLAG_NO_ZEROES);
        return b;
    }

    static ByteBuf reply(ByteBufAllocator alloc, int option, int type, int length) {
        ByteBuf b = alloc.buffer(20 + length);
        b.writeLong(NbdConstants.OPTION_REPLY_MAGIC).writeInt(option).writeInt(type).writeInt(length);
        return b;
    }

    static ByteBuf ack(ByteBufAllocator alloc, int option) {
        return reply(alloc, option, NbdConstants.REP_ACK, 0);
    }

    static ByteBuf error(ByteBufAllocator alloc, int option, int type, String message) {
        int len = ByteBufUtil.utf8Bytes(message);
        ByteBuf b = reply(alloc, option, type, len);
        ByteBufUtil.writeUtf8(b, message);
        return b;
    }

    static ByteBuf server(ByteBufAllocator alloc, String name, String description) {
        int nameLen = ByteBufUtil.utf8Bytes(name);
        int descLen = ByteBufUtil.utf8Bytes(description);
        ByteBuf b = reply(alloc, NbdConstants.OPT_LIST, NbdConstants.REP_SERVER, 4 + nameLen + descLen);
        b.writeInt(nameLen);
        ByteBufUtil.writeUtf8(b, name);
        ByteBufUtil.writeUtf8(b, description);
        return b;
    }

    static ByteBuf infoExport(ByteBufAllocator alloc, int option, long size, int flags) {
        ByteBuf b = reply(alloc, option, NbdConstants.REP_INFO, 12);
        b.writeShort(NbdConstants.INFO_EXPORT).writeLong(size).writeShort(flags);
        return b;
    }

    static ByteBuf infoString(ByteBufAllocator alloc, int option, int infoType, String text) {
        int len = ByteBufUtil.utf8Bytes(text);
        ByteBuf b = reply(alloc, option, NbdConstants.REP_INFO, 2 + len);
        b.writeShort(infoType);
        ByteBufUtil.writeUtf8(b, text);
        return b;
    }

    static ByteBuf infoBlockSize(ByteBufAllocator alloc, int option, int min, int preferred, int max) {
        ByteBuf b = reply(alloc, option, NbdConstants.REP_INFO, 14);
        b.writeShort(NbdConstants.INFO_BLOCK_SIZE).writeInt(min).writeInt(preferred).writeInt(max);
        return b;
    }

    static ByteBuf metaContext(ByteBufAllocator alloc, int option, int id, String name) {
        int len = ByteBufUtil.utf8Bytes(name);
        ByteBuf b = reply(alloc, option, NbdConstants.REP_META_CONTEXT, 4 + len);
        b.writeInt(id);
        ByteBufUtil.writeUtf8(b, name);
        return b;
    }
}
