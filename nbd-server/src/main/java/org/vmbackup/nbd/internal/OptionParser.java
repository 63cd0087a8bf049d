package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Parses option payloads; every method returns null when the payload is malformed (lengths inconsistent). */
final class OptionParser {
    private OptionParser() {
    }

    /** GO / INFO: an export name and the info types asked for. */
    record GoRequest(String name, List<Integer> infos) {
    }

    /** LIST_META_CONTEXT / SET_META_CONTEXT: an export name and context queries. */
    record MetaRequest(String name, List<String> queries) {
    }

    static GoRequest go(ByteBuf data) {
        String name = string(data);
        if (name == null || data.readableBytes() < 2) {
            return null;
        }
        int count = data.readUnsignedShort();
        if (data.readableBytes() != count * 2) {
            return null;
        }
        List<Integer> infos = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            infos.add(data.readUnsignedShort());
        }
        return new GoRequest(name, infos);
    }

    static MetaRequest meta(ByteBuf data) {
        String name = string(data);
        if (name == null || data.readableBytes() < 4) {
            return null;
        }
        long count = data.readUnsignedInt();
        if (count > data.readableBytes() / 4) {
            return null;
        }
        List<String> queries = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            String q = string(data);
            if (q == null) {
                return null;
            }
            queries.add(q);
        }
        return data.isReadable() ? null : new MetaRequest(name, queries);
    }

    /** A 32-bit length-prefixed UTF-8 string of at most 4096 bytes. */
    private static String string(ByteBuf data) {
        if (data.readableBytes() < 4) {
            return null;
        }
        long len = data.readUnsignedInt();
        if (len > NbdConstants.MAX_STRING || len > data.readableBytes()) {
            return null;
        }
        String s = data.toString(data.readerIndex(), (int) len, StandardCharsets.UTF_8);
        data.skipBytes((int) len);
        return s;
    }
}
