package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The encoder's object buffer: aligned for LocalBackend's O_DIRECT writes, compressed in place, decodable. */
class ChunkCodecTest {
    @Test
    void plainObjectsStartAlignedAndDecodeToTheirPlaintextCompressedOrNot() throws Exception {
        int chunk = 1 << 20;
        ChunkCodec codec = new ChunkCodec(chunk, 1, Optional.empty());
        Random r = new Random(3);
        byte[] random = new byte[chunk];
        r.nextBytes(random);
        byte[] text = Arrays.copyOf(java.util.Base64.getEncoder().encode(random), chunk - 77); // odd length
        for (byte[] plain : new byte[][] {random, text}) {
            ByteBuffer in = ByteBuffer.allocateDirect(plain.length).put(plain).flip();
            ChunkCodec.Encoded e = codec.encode(in);
            ByteBuffer o = e.object();
            // without this LocalBackend silently falls back to the page cache
            assertThat(o.isDirect()).isTrue();
            assertThat(o.alignmentOffset(o.position(), ChunkCodec.ALIGN)).isZero();
            boolean compressed = (o.get(o.position() + 4) & 1) != 0;
            assertThat(compressed).isEqualTo(plain == text); // random data does not shrink, base64 text does
            assertThat(o.remaining()).isEqualTo(ChunkCodec.HEADER + o.getInt(o.position() + 12));
            if (!compressed) {
                assertThat(o.remaining()).isEqualTo(ChunkCodec.HEADER + plain.length);
            }
            byte[] copy = new byte[o.remaining()];
            o.duplicate().get(copy);
            assertThat(codec.decode(e.digest(), ByteBuffer.wrap(copy))).isEqualTo(plain);
            assertThat(in.remaining()).isEqualTo(plain.length); // not consumed
        }
        codec.close();
    }
}
