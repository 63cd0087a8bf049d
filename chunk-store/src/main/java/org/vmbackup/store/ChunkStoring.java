package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Stores one chunk's plaintext: all-zero chunks are holes (nothing stored), others encoded and put if absent. */
final class ChunkStoring {
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 << 10);

    /** A stored chunk's digest and the bytes it added to the store (0 when it existed or is a hole). */
    record Stored(byte[] digest, long bytesNew) {
    }

    private ChunkStoring() {
    }

    static boolean isZero(ByteBuffer data) {
        ByteBuffer d = data.duplicate();
        while (d.hasRemaining()) {
            int n = Math.min(d.remaining(), ZEROS.capacity());
            if (d.duplicate().limit(d.position() + n).mismatch(ZEROS.duplicate().limit(n)) >= 0) {
                return false;
            }
            d.position(d.position() + n);
        }
        return true;
    }

    static Stored store(StoreContext ctx, ByteBuffer data) throws IOException {
        return store(ctx, data, null);
    }

    /**
     * Stores a chunk; with a {@code syncer} the object is put without its own flush and its name handed to the
     * syncer, which makes it durable before the snapshot's manifest (FORMAT.md, "Durability").
     */
    static Stored store(StoreContext ctx, ByteBuffer data, ChunkSyncer syncer) throws IOException {
        if (isZero(data)) {
            return new Stored(Digests.HOLE, 0);
        }
        ChunkCodec.Encoded e = ctx.codec.encode(data);
        String name = Digests.chunkName(e.digest());
        boolean added;
        if (syncer == null) {
            added = ctx.backend.putIfAbsent(name, e.object());
        } else {
            added = ctx.backend.putIfAbsentUnsynced(name, e.object());
            syncer.add(name);
        }
        return new Stored(e.digest(), added ? e.object().remaining() : 0);
    }
}
