package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.vmbackup.nbd.NbdExport;

/** Test fixtures: client frames as bytes, and a reader of what the server wrote to an EmbeddedChannel. */
public final class Wire {
    private Wire() {
    }

    /** A handshake channel for a server serving these exports. */
    public static EmbeddedChannel handshakeChannel(NbdExport... exports) {
        return handshakeChannel(Duration.ofSeconds(10), exports);
    }

    /** A handshake channel with a given timeout. */
    public static EmbeddedChannel handshakeChannel(Duration timeout, NbdExport... exports) {
        return handshakeChannel(timeout, new java.util.concurrent.atomic.AtomicBoolean(), exports);
    }

    /** A handshake channel whose server's shutdown flag the test controls. */
    public static EmbeddedChannel handshakeChannel(Duration timeout, java.util.concurrent.atomic.AtomicBoolean shutdown,
                                                   NbdExport... exports) {
        ExportRegistry registry = new ExportRegistry();
        for (NbdExport e : exports) {
            registry.add(e);
        }
        ServerConfig cfg = new ServerConfig(registry, null, false, timeout, 4L << 20, NbdConstants.MAX_PAYLOAD,
                shutdown);
        return new EmbeddedChannel(new HandshakeHandler(cfg));
    }

    public static ByteBuf clientFlags(int flags) {
        return Unpooled.buffer(4).writeInt(flags);
    }

    public static ByteBuf option(int option, byte[] data) {
        ByteBuf b = Unpooled.buffer(16 + data.length);
        b.writeLong(NbdConstants.IHAVEOPT).writeInt(option).writeInt(data.length).writeBytes(data);
        return b;
    }

    public static byte[] goData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuf b = Unpooled.buffer();
        b.writeInt(n.length).writeBytes(n).writeShort(infos.length);
        for (int i : infos) {
            b.writeShort(i);
        }
        return bytes(b);
    }

    public static byte[] metaData(String name, String... queries) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuf b = Unpooled.buffer();
        b.writeInt(n.length).writeBytes(n).writeInt(queries.length);
        for (String q : queries) {
            byte[] qb = q.getBytes(StandardCharsets.UTF_8);
            b.writeInt(qb.length).writeBytes(qb);
        }
        return bytes(b);
    }

    public static ByteBuf request(int flags, int type, long cookie, long offset, long length, byte[] payload) {
        ByteBuf b = Unpooled.buffer(28 + (payload == null ? 0 : payload.length));
        b.writeInt(NbdConstants.REQUEST_MAGIC).writeShort(flags).writeShort(type).writeLong(cookie)
                .writeLong(offset).writeInt((int) length);
        if (payload != null) {
            b.writeBytes(payload);
        }
        return b;
    }

    public static byte[] bytes(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }

    /** Everything the server wrote so far, as one buffer (the caller releases it). */
    public static ByteBuf drain(EmbeddedChannel ch) {
        ch.runPendingTasks();
        ByteBuf all = Unpooled.buffer();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            all.writeBytes(b);
            b.release();
        }
        return all;
    }

    /** One option reply as parsed from the wire. */
    public record OptionReply(int option, int type, byte[] data) {
        public int infoType() {
            return ((data[0] & 0xff) << 8) | (data[1] & 0xff);
        }
    }

    /** Parses every complete option reply in {@code b}. */
    public static List<OptionReply> optionReplies(ByteBuf b) {
        List<OptionReply> out = new ArrayList<>();
        while (b.readableBytes() >= 20) {
            long magic = b.readLong();
            if (magic != NbdConstants.OPTION_REPLY_MAGIC) {
                throw new AssertionError("bad option reply magic " + Long.toHexString(magic));
            }
            int opt = b.readInt();
            int type = b.readInt();
            byte[] d = new byte[b.readInt()];
            b.readBytes(d);
            out.add(new OptionReply(opt, type, d));
        }
        return out;
    }

    /** A transmission-phase reply: simple (chunks empty) or structured (one entry per chunk). */
    public record Reply(boolean structured, long cookie, int error, List<Chunk> chunks, byte[] simpleData) {
    }

    /** One structured chunk. */
    public record Chunk(int flags, int type, long cookie, byte[] payload) {
    }

    /** Parses one reply; {@code readLength} is the data length following a successful simple READ reply. */
    public static Reply reply(ByteBuf b, int readLength) {
        int magic = b.readInt();
        if (magic == NbdConstants.SIMPLE_REPLY_MAGIC) {
            int err = b.readInt();
            long cookie = b.readLong();
            byte[] data = new byte[err == 0 ? readLength : 0];
            b.readBytes(data);
            return new Reply(false, cookie, err, List.of(), data);
        }
        if (magic != NbdConstants.STRUCTURED_REPLY_MAGIC) {
            throw new AssertionError("bad reply magic " + Integer.toHexString(magic));
        }
        List<Chunk> chunks = new ArrayList<>();
        int error = 0;
        long cookie;
        while (true) {
            int flags = b.readUnsignedShort();
            int type = b.readUnsignedShort();
            cookie = b.readLong();
            byte[] p = new byte[b.readInt()];
            b.readBytes(p);
            chunks.add(new Chunk(flags, type, cookie, p));
            if ((type & 0x8000) != 0) {
                error = Unpooled.wrappedBuffer(p).readInt();
            }
            if ((flags & NbdConstants.REPLY_FLAG_DONE) != 0) {
                break;
            }
            int next = b.readInt();
            if (next != NbdConstants.STRUCTURED_REPLY_MAGIC) {
                throw new AssertionError("bad chunk magic");
            }
        }
        return new Reply(true, cookie, error, chunks, null);
    }

    /** Reads the greeting and answers with client flags. */
    public static void greet(EmbeddedChannel ch, int clientFlags) {
        ByteBuf g = drain(ch);
        if (g.readableBytes() != 18 || g.readLong() != NbdConstants.NBDMAGIC) {
            throw new AssertionError("bad greeting");
        }
        g.release();
        ch.writeInbound(clientFlags(clientFlags));
    }

    /** Sends an option and returns the replies it produced. */
    public static List<OptionReply> opt(EmbeddedChannel ch, int option, byte[] data) {
        ch.writeInbound(option(option, data));
        ByteBuf out = drain(ch);
        try {
            return optionReplies(out);
        } finally {
            out.release();
        }
    }

    /**
     * A channel already in transmission on {@code export}: structured replies and base:allocation negotiated
     * when {@code structured}.
     */
    public static EmbeddedChannel transmission(NbdExport export, boolean structured) {
        EmbeddedChannel ch = handshakeChannel(export);
        greet(ch, 3);
        if (structured) {
            opt(ch, NbdConstants.OPT_STRUCTURED_REPLY, new byte[0]);
            opt(ch, NbdConstants.OPT_SET_META_CONTEXT, metaData(export.name(), NbdConstants.BASE_ALLOCATION));
        }
        List<OptionReply> r = opt(ch, NbdConstants.OPT_GO, goData(export.name()));
        if (r.get(r.size() - 1).type() != NbdConstants.REP_ACK) {
            throw new AssertionError("GO refused: " + r);
        }
        return ch;
    }
}
