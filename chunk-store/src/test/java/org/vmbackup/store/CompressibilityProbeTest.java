package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.luben.zstd.ZstdCompressCtx;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sample decides: random chunks are kept raw untried, compressible ones (even partly) compressed, both exact. */
class CompressibilityProbeTest {
    private static final int CHUNK = 1 << 20;

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] text(int n, long seed) {
        return Arrays.copyOf(Base64.getEncoder().encode(random(n, seed)), n);
    }

    private static ByteBuffer direct(byte[] b) {
        return ByteBuffer.allocateDirect(b.length).put(b).flip();
    }

    @Test
    void randomDataIsNotWorthCompressingTextIsAndSmallChunksAlwaysAre() {
        CompressibilityProbe probe = new CompressibilityProbe();
        try (ZstdCompressCtx z = new ZstdCompressCtx().setLevel(1)) {
            assertThat(probe.worthCompressing(direct(random(CHUNK, 1)), z)).isFalse();
            assertThat(probe.worthCompressing(direct(text(CHUNK, 2)), z)).isTrue();
            assertThat(probe.worthCompressing(direct(random(CompressibilityProbe.MIN_CHUNK - 1, 3)), z)).isTrue();
            // the sample reaches the chunk's end: random data with a zero tail of one slice's stride
            byte[] tail = random(CHUNK, 4);
            Arrays.fill(tail, CHUNK - CHUNK / CompressibilityProbe.SLICES, CHUNK, (byte) 0);
            assertThat(probe.worthCompressing(direct(tail), z)).isTrue();
            // position and limit are honoured and not moved
            ByteBuffer b = direct(random(CHUNK + 100, 5)).position(100);
            assertThat(probe.worthCompressing(b, z)).isFalse();
            assertThat(b.position()).isEqualTo(100);
        }
    }

    @Test
    void chunksAreStoredRawOrCompressedAsTheProbeSaysAndDecodeBitExact(@TempDir Path tmp) throws Exception {
        byte[] zeroTail = random(CHUNK, 6);
        Arrays.fill(zeroTail, CHUNK / 2, CHUNK, (byte) 0);
        byte[][] plains = {random(CHUNK, 7), text(CHUNK, 8), zeroTail, random(1000, 9), text(CHUNK - 77, 10)};
        boolean[] compressed = {false, true, true, false, true};
        for (Optional<StoreKey> key : Arrays.asList(Optional.<StoreKey>empty(), Optional.of(StoreKey.create(tmp.resolve("key"))))) {
            ChunkCodec codec = new ChunkCodec(CHUNK, 1, key);
            for (int i = 0; i < plains.length; i++) {
                ChunkCodec.Encoded e = codec.encode(direct(plains[i]));
                ByteBuffer o = e.object();
                assertThat((o.get(o.position() + 4) & 1) != 0).as("chunk %d compressed", i).isEqualTo(compressed[i]);
                byte[] copy = new byte[o.remaining()];
                o.duplicate().get(copy);
                assertThat(codec.decode(e.digest(), ByteBuffer.wrap(copy))).isEqualTo(plains[i]);
            }
            codec.close();
        }
    }
}
