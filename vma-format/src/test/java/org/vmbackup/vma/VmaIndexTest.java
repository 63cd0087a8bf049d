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
