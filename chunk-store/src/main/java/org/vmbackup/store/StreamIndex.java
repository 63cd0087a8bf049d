package org.vmbackup.store;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A stream's chunk list (FORMAT.md, "Stream index"): end offsets and digests. */
final class StreamIndex {
    private static final byte[] MAGIC = "VBDIDX01".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = 24;
    private static final int ENTRY = 8 + Digests.LENGTH;

    /** One chunk of the stream: its end offset (exclusive) and digest. */
    record Entry(long end, byte[] digest) {
    }

    private final List<Entry> entries;

    StreamIndex(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    List<Entry> entries() {
        return entries;
    }

    long length() {
        return entries.isEmpty() ? 0 : entries.get(entries.size() - 1).end();
    }

    long start(int i) {
        return i == 0 ? 0 : entries.get(i - 1).end();
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER + entries.size() * ENTRY);
        b.put(MAGIC).putLong(length()).putLong(entries.size());
        for (Entry e : entries) {
            b.putLong(e.end()).put(e.digest());
        }
        return b.array();
    }

    static StreamIndex decode(byte[] data, String what, int chunkSize) throws CorruptDataException {
        if (data.length < HEADER || !Arrays.equals(Arrays.copyOf(data, MAGIC.length), MAGIC)) {
            throw new CorruptDataException(what + ": not a stream index (bad header)");
        }
        ByteBuffer b = ByteBuffer.wrap(data, MAGIC.length, data.length - MAGIC.length);
        long length = b.getLong();
        long count = b.getLong();
        if (count < 0 || (long) data.length - HEADER != count * ENTRY) {
            throw new CorruptDataException(what + ": truncated or too long (" + data.length + " bytes for " + count + " entries)");
        }
        List<Entry> out = new ArrayList<>();
        long prev = 0;
        for (long i = 0; i < count; i++) {
            long end = b.getLong();
            byte[] d = new byte[Digests.LENGTH];
            b.get(d);
            if (end <= prev || end - prev > chunkSize) {
                throw new CorruptDataException(what + ": damaged (entry " + i + " ends at " + end + ")");
            }
            out.add(new Entry(end, d));
            prev = end;
        }
        if (prev != length) {
            throw new CorruptDataException(what + ": damaged (entries end at " + prev + ", header says " + length + ")");
        }
        return new StreamIndex(out);
    }
}
