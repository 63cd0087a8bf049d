package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Feeding a reference archive's clusters to our writer in the same order reproduces it byte for byte. */
class WriterCompatibilityTest {
    private record Cluster(VmaDevice device, long index, byte[] data) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"two-disks", "config-only", "zero-disk", "sector-aligned"})
    void rewritingAVectorInItsClusterOrderIsByteIdentical(String name) throws Exception {
        byte[] original = Files.readAllBytes(VectorsTest.vector(name + ".vma"));
        List<Cluster> order = new ArrayList<>();
        VmaHeader header;
        try (VmaReader r = VmaReader.open(VectorsTest.vector(name + ".vma"))) {
            header = r.header();
            r.readAll((dev, cluster, mask, blocks) -> {
                byte[] full = new byte[65536];
                int src = 0;
                for (int j = 0; j < 16; j++) {
                    if ((mask & 1 << j) != 0) {
                        blocks.get(src, full, j * 4096, 4096);
                        src += 4096;
                    }
                }
                order.add(new Cluster(dev, cluster, full));
            });
        }
        VmaWriter.Builder b = VmaWriter.builder().uuid(header.uuid()).ctime(header.ctime());
        header.configs().forEach(c -> b.config(c.name(), c.data()));
        header.devices().forEach(d -> b.disk(d.name(), d.size()));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (VmaWriter w = b.open(Channels.newChannel(out))) {
            for (Cluster c : order) {
                VmaDevice d = w.devices().get(c.device().id() - 1);
                int len = (int) Math.min(65536, d.size() - c.index() * 65536);
                w.write(d, c.index() * 65536, ByteBuffer.wrap(c.data(), 0, len));
            }
        }
        assertThat(out.toByteArray()).hasSameSizeAs(original);
        assertThat(out.toByteArray()).isEqualTo(original);
    }
}
