package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.nbd.NbdExtent;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaIndex;

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
}
