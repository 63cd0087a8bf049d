package org.vmbackup.nbd.backend;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.vmbackup.nbd.NbdCapabilities;
import org.vmbackup.nbd.NbdExtent;
import org.vmbackup.nbd.FuaLevel;

class MemoryBackendTest {
    private static final int CHUNK = MemoryBackend.CHUNK;

    private static byte[] read(MemoryBackend m, long off, int len) {
        ByteBuf b = m.read(off, len).join();
        byte[] out = new byte[len];
        b.readBytes(out);
        b.release();
        return out;
    }

    private static void write(MemoryBackend m, long off, byte[] data) {
        ByteBuf b = Unpooled.wrappedBuffer(data);
        m.write(off, b, false).join();
        b.release();
    }

    @Test
    void unwrittenDiskIsOneHoleAndReadsZero() {
        MemoryBackend m = new MemoryBackend(10L << 30);
        assertThat(read(m, 5L << 30, 4096)).isEqualTo(new byte[4096]);
        assertThat(m.extents(0, 10L << 30).join()).containsExactly(NbdExtent.hole(0, 10L << 30));
        assertThat(m.allocatedBytes()).isZero();
    }

    @Test
    void preallocatedDiskHoldsAllMemoryUpFrontReadsZeroAndZeroesInPlace() {
        long size = 1030L * CHUNK + 100; // more than one slab, odd tail
        MemoryBackend m = MemoryBackend.preallocated(size);
        assertThat(m.allocatedBytes()).isEqualTo(1031L * CHUNK);
        assertThat(read(m, size - 4096, 4096)).isEqualTo(new byte[4096]);
        assertThat(m.extents(0, size).join()).containsExactly(new NbdExtent(0, size, false, false));
        byte[] data = new byte[3 * CHUNK];
        new Random(7).nextBytes(data);
        write(m, 1023L * CHUNK + 5, data);
        assertThat(read(m, 1023L * CHUNK + 5, data.length)).isEqualTo(data);
        m.zero(1023L * CHUNK, 2L * CHUNK, false, true, false).join();
        m.trim(0, size, false).join();
        assertThat(read(m, 1023L * CHUNK, 2 * CHUNK)).isEqualTo(new byte[2 * CHUNK]);
        assertThat(read(m, 1025L * CHUNK, CHUNK)).isEqualTo(java.util.Arrays.copyOfRange(data, 2 * CHUNK - 5, 3 * CHUNK - 5));
        assertThat(m.allocatedBytes()).isEqualTo(1031L * CHUNK);
    }

    @Test
    void writesAcrossChunkBoundariesReadBack() {
        MemoryBackend m = new MemoryBackend(4L * CHUNK + 100);
        byte[] data = new byte[2 * CHUNK + 300];
        new Random(1).nextBytes(data);
        write(m, CHUNK - 150, data);
        assertThat(read(m, CHUNK - 150, data.length)).isEqualTo(data);
        assertThat(m.allocatedBytes()).isEqualTo(4L * CHUNK);
        byte[] tail = {1, 2, 3};
        write(m, 4L * CHUNK + 97, tail);
        assertThat(read(m, 4L * CHUNK + 97, 3)).isEqualTo(tail);
    }

    @Test
    void zeroFreesWholeChunksAndClearsPartialOnes() {
        MemoryBackend m = new MemoryBackend(4L * CHUNK);
        byte[] ones = new byte[4 * CHUNK];
        java.util.Arrays.fill(ones, (byte) 1);
        write(m, 0, ones);
        m.zero(CHUNK / 2, 2L * CHUNK, false, true, false).join();
        byte[] back = read(m, 0, 4 * CHUNK);
        for (int i = 0; i < back.length; i++) {
            boolean zeroed = i >= CHUNK / 2 && i < CHUNK / 2 + 2 * CHUNK;
            assertThat(back[i]).as("byte %d", i).isEqualTo(zeroed ? (byte) 0 : (byte) 1);
        }
        assertThat(m.allocatedBytes()).isEqualTo(3L * CHUNK);
        List<NbdExtent> e = m.extents(0, 4L * CHUNK).join();
        assertThat(e).containsExactly(NbdExtent.data(0, CHUNK), NbdExtent.hole(CHUNK, CHUNK),
                NbdExtent.data(2L * CHUNK, 2L * CHUNK));
    }

    @Test
    void zeroWithNoHoleIsAllocatedZeroWithoutMemory() {
        MemoryBackend m = new MemoryBackend(2L * CHUNK);
        write(m, 0, new byte[] {9});
        m.zero(0, 2L * CHUNK, false, false, true).join();
        assertThat(m.extents(0, 2L * CHUNK).join()).containsExactly(new NbdExtent(0, 2L * CHUNK, false, true));
        assertThat(m.allocatedBytes()).isZero();
        assertThat(read(m, 0, 1)).containsExactly(0);
        write(m, 10, new byte[] {5});
        assertThat(read(m, 9, 3)).containsExactly(0, 5, 0);
    }

    @Test
    void trimFreesOnlyWholeChunks() {
        MemoryBackend m = new MemoryBackend(3L * CHUNK);
        byte[] data = new byte[3 * CHUNK];
        java.util.Arrays.fill(data, (byte) 7);
        write(m, 0, data);
        m.trim(100, 2L * CHUNK, false).join();
        assertThat(m.allocatedBytes()).isEqualTo(2L * CHUNK);
        assertThat(read(m, 0, 100)).containsOnly(7);
    }

    @Test
    void concurrentWritersToDistinctRangesAllLand() {
        MemoryBackend m = new MemoryBackend(64L * CHUNK);
        List<CompletableFuture<Void>> all = IntStream.range(0, 256).mapToObj(i -> CompletableFuture.runAsync(() -> {
            byte[] d = new byte[CHUNK / 4];
            java.util.Arrays.fill(d, (byte) i);
            write(m, (long) i * d.length, d);
        })).toList();
        all.forEach(CompletableFuture::join);
        for (int i = 0; i < 256; i++) {
            assertThat(read(m, (long) i * CHUNK / 4, CHUNK / 4)).containsOnly((byte) i);
        }
    }

    @Test
    void capabilitiesAreThoseOfACoherentFastStore() {
        NbdCapabilities c = NbdCapabilities.of(new MemoryBackend(1), false);
        assertThat(c).isEqualTo(new NbdCapabilities(true, true, FuaLevel.NATIVE, true, true, true, true, true, true));
        NbdCapabilities ro = NbdCapabilities.of(new ReadOnlyBackend(new MemoryBackend(1)), false);
        assertThat(ro).isEqualTo(new NbdCapabilities(false, true, FuaLevel.NONE, false, false, false, true, true,
                true));
    }
}
