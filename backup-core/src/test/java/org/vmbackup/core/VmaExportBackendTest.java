package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.nbd.NbdExtent;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaBlockStatus;
import org.vmbackup.vma.VmaIndex;
import org.vmbackup.vma.VmaWriter;

class VmaExportBackendTest {
    @TempDir
    Path tmp;
    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    @Test
    void randomReadsEqualTheStreamedImageAndExtentsCoverTheDevice() throws Exception {
        Path archive = RestoreVectors.dir().resolve("two-disks.vma");
        RestoreResult r = RestoreSession.builder().archive(archive).targetDirectory(tmp).build().start().join();
        try (VmaIndex index = VmaIndex.open(archive)) {
            Random rnd = new Random(1);
            for (VmaDevice d : index.devices()) {
                byte[] image = Files.readAllBytes(tmp.resolve(d.name() + ".raw"));
                VmaExportBackend b = new VmaExportBackend(index, d, pool);
                assertThat(b.size()).isEqualTo(d.size());
                assertThat(b.canWrite()).isFalse();
                assertThat(b.canExtents()).isTrue();
                for (int i = 0; i < 200; i++) {
                    int len = 1 + rnd.nextInt(200_000);
                    long off = rnd.nextInt((int) d.size());
                    len = (int) Math.min(len, d.size() - off);
                    ByteBuf buf = b.read(off, len).join();
                    try {
                        byte[] got = new byte[len];
                        buf.readBytes(got);
                        assertThat(got).isEqualTo(java.util.Arrays.copyOfRange(image, (int) off, (int) off + len));
                    } finally {
                        buf.release();
                    }
                }
                List<NbdExtent> ext = b.extents(0, d.size()).join();
                long at = 0;
                for (NbdExtent e : ext) {
                    assertThat(e.offset()).isEqualTo(at);
                    if (e.hole()) {
                        byte[] zeros = new byte[(int) e.length()];
                        assertThat(java.util.Arrays.copyOfRange(image, (int) e.offset(), (int) e.end()))
                                .isEqualTo(zeros);
                    }
                    at = e.end();
                }
                assertThat(at).isEqualTo(d.size());
                long stored = r.disks().stream().filter(x -> x.device().equals(d.name())).findFirst().orElseThrow()
                        .dataBytes();
                assertThat(b.dataBytes()).as("data runs cover exactly the stored blocks").isEqualTo(stored);
            }
        }
        assertThat(r.disks()).hasSize(3);
    }

    /** Extents of any sub-range are the index's maximal runs from its start, clipped to it, at most 1025 of them. */
    @Test
    void extentsOfSubRangesAreTheIndexRunsClippedAndCapped() throws Exception {
        Random rnd = new Random(5);
        byte[] img = new byte[16 << 20];
        for (int b = 0; b < img.length / 4096; b++) {
            if (rnd.nextBoolean()) {
                img[b * 4096 + rnd.nextInt(4096)] = (byte) (1 + rnd.nextInt(255));
            }
        }
        Path archive = tmp.resolve("runs.vma");
        try (VmaWriter w = VmaWriter.builder().disk("drive-scsi0", img.length).open(archive)) {
            w.write(w.device("drive-scsi0"), 0, ByteBuffer.wrap(img));
        }
        try (VmaIndex index = VmaIndex.open(archive)) {
            VmaDevice d = index.devices().get(0);
            VmaExportBackend b = new VmaExportBackend(index, d, pool);
            for (int i = 0; i < 300; i++) {
                long off = i == 0 ? 0 : rnd.nextInt(img.length);
                long len = i == 0 ? Long.MAX_VALUE / 2 : 1 + rnd.nextInt(i % 3 == 0 ? img.length : 300_000);
                long end = Math.min(img.length, off + len);
                List<String> want = new ArrayList<>();
                for (long at = off; at < end && want.size() < 1025; ) {
                    VmaBlockStatus st = index.blockStatus(d, at, end - at);
                    want.add(st.offset() + "+" + st.length() + (st.zero() ? " hole" : " data"));
                    at += st.length();
                }
                List<String> got = new ArrayList<>();
                for (NbdExtent e : b.extents(off, len).join()) {
                    got.add(e.offset() + "+" + e.length() + (e.hole() ? " hole" : " data"));
                }
                assertThat(got).as("extents(%d, %d)", off, len).isEqualTo(want);
            }
            assertThat(b.extents(0, img.length).join()).hasSize(1025); // the image has more runs than that
            assertThat(b.extents(img.length, 10).join()).isEmpty();
        }
    }
}
