package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VmaIndexTest {
    @TempDir
    Path dir;

    @Test
    void randomReadsFromSeveralThreadsMatchTheImages() throws Exception {
        Random r = new Random(7);
        Map<String, byte[]> images = ArchiveFixtures.randomImages(r, 4, 900_000);
        Path archive = dir.resolve("a.vma");
        Files.write(archive, ArchiveFixtures.write(r, images, 7, 3));
        try (VmaIndex index = VmaIndex.open(archive)) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                long seed = r.nextLong();
                fs.add(pool.submit(() -> {
                    Random tr = new Random(seed);
                    for (int i = 0; i < 400; i++) {
                        VmaDevice d = index.devices().get(tr.nextInt(index.devices().size()));
                        byte[] img = images.get(d.name());
                        int off = tr.nextInt(img.length);
                        int len = 1 + tr.nextInt(200_000);
                        ByteBuffer dst = tr.nextBoolean() ? ByteBuffer.allocate(len) : ByteBuffer.allocateDirect(len);
                        int n = index.read(d, off, dst);
                        assertThat(n).isEqualTo(Math.min(len, img.length - off));
                        byte[] got = new byte[n];
                        dst.flip().get(got);
                        assertThat(got).isEqualTo(Arrays.copyOfRange(img, off, off + n));
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            pool.shutdown();
        }
    }

    /**
     * Clusters written in order lie back to back in the archive, so reads spanning them are coalesced; 4 KiB zero
     * blocks scattered inside stored clusters (and whole zero clusters) make the coalesced read scatter in place.
     */
    @Test
    void readsAcrossSequentiallyWrittenClustersWithZeroBlocksMatchTheImage() throws Exception {
        Random r = new Random(11);
        byte[] img = new byte[3 * 1024 * 1024 + 12_345];
        for (int b = 0; b * 4096 < img.length; b++) {
            if (r.nextInt(3) != 0) { // about a third of the blocks stay zero
                int from = b * 4096;
                int to = Math.min(img.length, from + 4096);
                for (int i = from; i < to; i++) {
                    img[i] = (byte) (1 + r.nextInt(255));
                }
            }
        }
        Path archive = dir.resolve("seq.vma");
        try (VmaWriter w = VmaWriter.builder().disk("drive-scsi0", img.length).open(archive)) {
            VmaDevice d = w.device("drive-scsi0");
            for (int at = 0; at < img.length; at += 1 << 20) {
                w.write(d, at, ByteBuffer.wrap(img, at, Math.min(1 << 20, img.length - at)));
            }
        }
        try (VmaIndex index = VmaIndex.open(archive)) {
            VmaDevice d = index.devices().get(0);
            long deadline = System.nanoTime() + 5_000_000_000L;
            for (int i = 0; i < 3000 && System.nanoTime() < deadline; i++) {
                int off = i == 0 ? 0 : r.nextInt(img.length);
                int len = i == 0 ? img.length : 1 + r.nextInt(i % 2 == 0 ? 2 << 20 : 300_000);
                int pad = r.nextInt(3) == 0 ? r.nextInt(5000) : 0;
                ByteBuffer dst = r.nextBoolean() ? ByteBuffer.allocate(pad + len) : ByteBuffer.allocateDirect(pad + len);
                for (int j = 0; j < dst.capacity(); j++) {
                    dst.put(j, (byte) 0x5A); // stale bytes the read must overwrite, zeros included
                }
                dst.position(pad);
                int n = index.read(d, off, dst);
                assertThat(n).isEqualTo(Math.min(len, img.length - off));
                assertThat(dst.position()).isEqualTo(pad + n);
                byte[] got = new byte[n];
                dst.get(pad, got);
                assertThat(got).as("read of %d bytes at %d", len, off).isEqualTo(Arrays.copyOfRange(img, off, off + n));
            }
        }
    }

    /** Block status steps over whole clusters and absent 256 MiB chunks, and still stops exactly where data starts. */
    @Test
    void blockStatusRunsAreMaximalAcrossAbsentChunksAndPartialClusters() throws Exception {
        long size = 600L << 20;
        long late = (590L << 20) + 3 * 4096; // inside a cluster, in the third 256 MiB chunk
        Path archive = dir.resolve("sparse.vma");
        byte[] data = new byte[5 * 4096];
        Arrays.fill(data, (byte) 7);
        try (VmaWriter w = VmaWriter.builder().disk("drive-scsi0", size).open(archive)) {
            VmaDevice d = w.device("drive-scsi0");
            w.write(d, 0, ByteBuffer.wrap(new byte[65536 * 2]).put(4096, data).clear());
            w.write(d, late & -65536, ByteBuffer.wrap(new byte[65536 * 2]).put((int) (late & 65535), data).clear());
            w.writeZeroes(d, 2 * 65536, (late & -65536) - 2 * 65536);
            w.writeZeroes(d, (late & -65536) + 2 * 65536, size - (late & -65536) - 2 * 65536);
        }
        try (VmaIndex index = VmaIndex.open(archive)) {
            VmaDevice d = index.devices().get(0);
            List<VmaBlockStatus> runs = new ArrayList<>();
            for (long at = 0; at < size; ) {
                VmaBlockStatus s = index.blockStatus(d, at, Long.MAX_VALUE);
                runs.add(s);
                at += s.length();
            }
            assertThat(runs).containsExactly(new VmaBlockStatus(0, 4096, true),
                    new VmaBlockStatus(4096, data.length, false),
                    new VmaBlockStatus(4096 + data.length, late - 4096 - data.length, true),
                    new VmaBlockStatus(late, data.length, false),
                    new VmaBlockStatus(late + data.length, size - late - data.length, true));
            assertThat(index.blockStatus(d, 8192, 1 << 20)).isEqualTo(new VmaBlockStatus(8192, data.length - 4096, false));
            assertThat(index.blockStatus(d, 1 << 20, 300L << 20)).isEqualTo(new VmaBlockStatus(1 << 20, 300L << 20, true));
        }
    }

    @Test
    void blockStatusReportsHolesThatAreZerosAndCoversTheDevice() throws Exception {
        for (String v : new String[] {"two-disks", "zero-disk", "sector-aligned"}) {
            Path archive = VectorsTest.vector(v + ".vma");
            try (VmaIndex index = VmaIndex.open(archive); VmaReader reader = VmaReader.open(archive)) {
                ArchiveImages images = ArchiveImages.decode(reader);
                for (VmaDevice d : index.devices()) {
                    byte[] img = images.images.get(d.name());
                    long at = 0;
                    int holes = 0;
                    while (at < d.size()) {
                        VmaBlockStatus s = index.blockStatus(d, at, Long.MAX_VALUE);
                        assertThat(s.offset()).isEqualTo(at);
                        assertThat(s.length()).isPositive();
                        if (s.zero()) {
                            holes++;
                            byte[] part = Arrays.copyOfRange(img, (int) at, (int) (at + s.length()));
                            assertThat(part).containsOnly(0);
                            assertThat(index.isZero(d, at, s.length())).isTrue();
                        }
                        at += s.length();
                    }
                    assertThat(at).isEqualTo(d.size());
                    if (v.equals("zero-disk")) {
                        assertThat(holes).isEqualTo(1);
                    }
                }
            }
        }
    }

    @Test
    void compressedOrTruncatedArchivesAreRefused() throws Exception {
        Path zst = dir.resolve("c.vma.zst");
        try (VmaWriter w = VmaWriter.builder().disk("d", 65536).open(zst)) {
            w.writeZeroes(w.device("d"), 0, 65536);
        }
        assertThatThrownBy(() -> VmaIndex.open(zst)).isInstanceOf(VmaFormatException.class)
                .hasMessageContaining("uncompressed");
        byte[] full = Files.readAllBytes(VectorsTest.vector("two-disks.vma"));
        Path cut = dir.resolve("cut.vma");
        Files.write(cut, Arrays.copyOf(full, full.length - 4096));
        assertThatThrownBy(() -> VmaIndex.open(cut)).isInstanceOf(VmaFormatException.class)
                .hasMessageContaining("truncated");
    }
}
