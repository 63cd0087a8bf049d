package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VmaWriterTest {
    @TempDir
    Path dir;

    private static byte[] randomImage(int size, long seed) {
        byte[] img = new byte[size];
        Random r = new Random(seed);
        for (int at = 0; at < size; at += 4096) {
            if (r.nextInt(3) > 0) {
                for (int i = at; i < Math.min(size, at + 4096); i++) {
                    img[i] = (byte) r.nextInt();
                }
            }
        }
        return img;
    }

    private static ArchiveImages decode(byte[] archive) throws Exception {
        try (VmaReader r = VmaReader.open(new java.io.ByteArrayInputStream(archive))) {
            return ArchiveImages.decode(r);
        }
    }

    @Test
    void piecesOfAnyAlignmentAreAssembledAndZeroesCostNothing() throws Exception {
        byte[] img = randomImage(300_001, 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VmaWriter w = VmaWriter.builder().config("a.conf", new byte[] {1, 2}).disk("d0", img.length)
                .disk("z", 200_000).open(Channels.newChannel(out));
        VmaDevice d0 = w.device("d0");
        // odd-sized pieces in reverse order
        int step = 12_345;
        for (int at = (img.length / step) * step; at >= 0; at -= step) {
            w.write(d0, at, ByteBuffer.wrap(img, at, Math.min(step, img.length - at)));
        }
        w.writeZeroes(w.device("z"), 0, 100_000);
        w.writeZeroes(w.device("z"), 100_000, 100_000);
        w.close();
        VmaWriterStats stats = w.stats();
        assertThat(stats.devices().get(1).storedBytes()).isZero();
        assertThat(stats.devices().get(1).zeroBytes()).isEqualTo(200_000);
        ArchiveImages a = decode(out.toByteArray());
        assertThat(a.images.get("d0")).isEqualTo(img);
        assertThat(a.images.get("z")).isEqualTo(new byte[200_000]);
        assertThat(a.header.config("a.conf").orElseThrow().data()).containsExactly(1, 2);
    }

    @Test
    void missingClusterFailsCloseNamingItAndNoArchiveAppears() throws Exception {
        Path archive = dir.resolve("x.vma");
        VmaWriter w = VmaWriter.builder().disk("drive-scsi0", 4 * 65536).open(archive);
        VmaDevice d = w.device("drive-scsi0");
        w.write(d, 0, ByteBuffer.allocate(2 * 65536));
        w.write(d, 3 * 65536, ByteBuffer.allocate(65536));
        assertThatThrownBy(w::close).isInstanceOf(VmaFormatException.class)
                .hasMessageContaining("drive-scsi0").hasMessageContaining("cluster 2");
        assertThat(archive).doesNotExist();
        assertThat(dir.resolve("x.vma.part")).doesNotExist();
    }

    @Test
    void partlyWrittenClusterFailsCloseNamingTheFirstMissingByte() throws Exception {
        Path archive = dir.resolve("half.vma");
        VmaWriter w = VmaWriter.builder().disk("drive-virtio0", 2 * 65536).open(archive);
        w.writeZeroes(w.device("drive-virtio0"), 0, 65536);
        w.write(w.device("drive-virtio0"), 65536, ByteBuffer.allocate(32768));
        assertThatThrownBy(w::close).isInstanceOf(VmaFormatException.class)
                .hasMessageContaining("drive-virtio0").hasMessageContaining("cluster 1 incomplete")
                .hasMessageContaining("byte 98304");
        assertThat(archive).doesNotExist();
    }

    @Test
    void clusterWrittenTwiceFailsAtWriteTime() throws Exception {
        VmaWriter w = VmaWriter.builder().disk("d", 3 * 65536).open(Channels.newChannel(new ByteArrayOutputStream()));
        VmaDevice d = w.device("d");
        w.write(d, 65536, ByteBuffer.allocate(65536));
        assertThatThrownBy(() -> w.write(d, 65536, ByteBuffer.allocate(65536)))
                .isInstanceOf(VmaFormatException.class).hasMessageContaining("cluster 1");
        w.write(d, 0, ByteBuffer.allocate(100));
        assertThatThrownBy(() -> w.write(d, 50, ByteBuffer.allocate(100)))
                .isInstanceOf(VmaFormatException.class).hasMessageContaining("written twice");
        assertThatThrownBy(() -> w.writeZeroes(d, 65536 + 4096, 10))
                .isInstanceOf(VmaFormatException.class).hasMessageContaining("written twice");
        assertThatThrownBy(() -> w.write(d, 3 * 65536, ByteBuffer.allocate(1)))
                .isInstanceOf(VmaFormatException.class).hasMessageContaining("outside");
        w.abort();
    }

    @Test
    void pathArchiveIsRenamedOnCloseAndAbortDeletesIt() throws Exception {
        Path archive = dir.resolve("ok.vma");
        byte[] img = randomImage(65536 * 3 + 512, 2);
        try (VmaWriter w = VmaWriter.builder().disk("d", img.length).open(archive)) {
            assertThat(dir.resolve("ok.vma.part")).exists();
            w.write(w.device("d"), 0, ByteBuffer.wrap(img));
        }
        assertThat(archive).exists();
        assertThat(decode(Files.readAllBytes(archive)).images.get("d")).isEqualTo(img);

        Path synced = dir.resolve("synced.vma.gz");
        try (VmaWriter w = VmaWriter.builder().sync(true).disk("d", img.length).open(synced)) {
            w.write(w.device("d"), 0, ByteBuffer.wrap(img));
        }
        try (VmaReader r = VmaReader.open(synced)) {
            assertThat(ArchiveImages.decode(r).images.get("d")).isEqualTo(img);
        }

        Path aborted = dir.resolve("no.vma");
        VmaWriter w = VmaWriter.builder().disk("d", 10).open(aborted);
        w.abort();
        assertThat(aborted).doesNotExist();
        assertThat(dir.resolve("no.vma.part")).doesNotExist();
    }

    @Test
    void vmstateStreamIsSequentialAndZeroPadded() throws Exception {
        byte[] state = randomImage(200_000, 3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (VmaWriter w = VmaWriter.builder().disk("d", 4096).vmstate(1 << 20).open(Channels.newChannel(out))) {
            w.writeZeroes(w.device("d"), 0, 4096);
            WritableByteChannel ch = w.vmstateChannel();
            for (int at = 0; at < state.length; at += 7000) {
                ch.write(ByteBuffer.wrap(state, at, Math.min(7000, state.length - at)));
            }
        }
        ArchiveImages a = decode(out.toByteArray());
        byte[] got = a.images.get("vmstate");
        assertThat(got.length).isEqualTo(4 * 65536);
        assertThat(java.util.Arrays.copyOf(got, state.length)).isEqualTo(state);
        assertThat(java.util.Arrays.copyOfRange(got, state.length, got.length)).containsOnly(0);
    }

    @Test
    void vmstateWholeClustersFromADirectBufferMixWithPiecesAndKeepZeroBlocksIn() throws Exception {
        byte[] state = randomImage(5 * 65536 + 300, 4);
        java.util.Arrays.fill(state, 65536 + 4096, 65536 + 3 * 4096, (byte) 0); // two zero blocks in cluster 1
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VmaWriterStats stats;
        try (VmaWriter w = VmaWriter.builder().disk("d", 4096).vmstate(1 << 20).open(Channels.newChannel(out))) {
            w.writeZeroes(w.device("d"), 0, 4096);
            WritableByteChannel ch = w.vmstateChannel();
            int[] pieces = {2 * 65536 + 100, 65436, 2 * 65536, 300};
            int at = 0;
            for (int n : pieces) {
                ByteBuffer b = ByteBuffer.allocateDirect(n + 10);
                b.position(10);
                b.put(state, at, n).flip().position(10);
                assertThat(ch.write(b)).isEqualTo(n);
                assertThat(b.hasRemaining()).isFalse();
                at += n;
            }
            assertThat(at).isEqualTo(state.length);
            ch.close();
            stats = w.stats();
        }
        VmaDeviceStats vm = stats.devices().stream().filter(d -> d.device().isVmstate()).findFirst().orElseThrow();
        assertThat(vm.zeroBytes()).isZero();
        byte[] got = decode(out.toByteArray()).images.get("vmstate");
        assertThat(got.length).isEqualTo(6 * 65536);
        assertThat(java.util.Arrays.copyOf(got, state.length)).isEqualTo(state);
        assertThat(java.util.Arrays.copyOfRange(got, state.length, got.length)).containsOnly(0);
        // The reference `vma extract` appends only the blocks whose mask bit is set to vmstate.bin (it writes no
        // zeros for the vmstate stream): what it would write must be the whole stream, zero blocks in place.
        ByteArrayOutputStream referenceVmstate = new ByteArrayOutputStream();
        try (VmaReader r = VmaReader.open(new java.io.ByteArrayInputStream(out.toByteArray()))) {
            r.readAll((device, cluster, mask, blocks) -> {
                if (device.isVmstate()) {
                    assertThat(mask).as("cluster %d", cluster).isEqualTo(0xffff);
                    byte[] b = new byte[Integer.bitCount(mask) * 4096];
                    blocks.get(0, b);
                    referenceVmstate.write(b);
                }
            });
        }
        assertThat(referenceVmstate.toByteArray()).isEqualTo(got);
    }

    @Test
    void compressedArchivesAreChosenByNameAndReadByMagic() throws Exception {
        byte[] img = randomImage(65536 * 70, 4);
        for (String name : new String[] {"c.vma.zst", "c.vma.gz", "c.vma"}) {
            Path archive = dir.resolve(name);
            try (VmaWriter w = VmaWriter.builder().disk("d", img.length).open(archive)) {
                w.write(w.device("d"), 0, ByteBuffer.wrap(img));
            }
            byte[] bytes = Files.readAllBytes(archive);
            VmaCompression expected = VmaCompression.forFileName(archive);
            assertThat(VmaCompression.detect(ByteBuffer.wrap(bytes))).isEqualTo(expected);
            try (VmaReader r = VmaReader.open(archive)) {
                assertThat(ArchiveImages.decode(r).images.get("d")).as(name).isEqualTo(img);
            }
        }
    }

    @Test
    void archiveWithoutDevicesHasOneEmptyExtent() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (VmaWriter w = VmaWriter.builder().open(Channels.newChannel(out))) {
            assertThat(w.devices()).isEmpty();
        }
        byte[] a = out.toByteArray();
        assertThat(a.length).isEqualTo(12288 + 512 + 512);
        try (VmaReader r = VmaReader.open(new java.io.ByteArrayInputStream(a))) {
            r.readAll((d, c, m, b) -> {
                throw new AssertionError("no clusters expected");
            });
            assertThat(r.extentCount()).isEqualTo(1);
        }
    }
}
