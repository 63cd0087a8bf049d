package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VmaExtractorTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"two-disks", "config-only", "zero-disk", "sector-aligned"})
    void vectorsExtractToExpectedSparseImages(String name) throws Exception {
        Path target = dir.resolve("out");
        List<String> info = new ArrayList<>();
        try (VmaReader r = VmaReader.open(VectorsTest.vector(name + ".vma"))) {
            VmaExtractor.extract(r, target, Set.of(), info::add);
            for (VmaConfig c : r.header().configs()) {
                assertThat(VectorsTest.sha256(Files.readAllBytes(target.resolve(c.name()))))
                        .isEqualTo(VectorsTest.expectedSha(name + ".vma", c.name()));
            }
            for (VmaDevice d : r.header().devices()) {
                Path img = target.resolve("disk-" + d.name() + ".raw");
                assertThat(Files.size(img)).isEqualTo(d.size());
                assertThat(VectorsTest.sha256(Files.readAllBytes(img)))
                        .isEqualTo(VectorsTest.expectedSha(name + ".vma", d.name()));
                assertThat(info).contains("DEVINFO " + target.resolve("tmp-disk-" + d.name() + ".raw") + " "
                        + d.size());
            }
            try (var files = Files.list(target)) {
                assertThat(files.filter(p -> p.getFileName().toString().startsWith("tmp-"))).isEmpty();
            }
        }
    }

    @Test
    void vmstateIsExtractedByPositionToVmstateBin() throws Exception {
        byte[] state = new byte[100_000];
        new java.util.Random(5).nextBytes(state);
        Arrays.fill(state, 10_000, 30_000, (byte) 0);
        Path archive = dir.resolve("vm.vma");
        try (VmaWriter w = VmaWriter.builder().disk("d", 4096).vmstate(state.length).open(archive)) {
            w.writeZeroes(w.device("d"), 0, 4096);
            w.vmstateChannel().write(ByteBuffer.wrap(state));
        }
        Path target = dir.resolve("vm");
        try (VmaReader r = VmaReader.open(archive)) {
            VmaExtractor.extract(r, target, Set.of(), s -> { });
        }
        byte[] got = Files.readAllBytes(target.resolve("vmstate.bin"));
        assertThat(got).hasSize(2 * 65536);
        assertThat(Arrays.copyOf(got, state.length)).isEqualTo(state);
        assertThat(Files.size(target.resolve("disk-d.raw"))).isEqualTo(4096);
    }

    @Test
    void onlySelectedDevicesAreWritten() throws Exception {
        Path target = dir.resolve("sel");
        try (VmaReader r = VmaReader.open(VectorsTest.vector("two-disks.vma"))) {
            VmaExtractor.extract(r, target, Set.of("drive-virtio1"), s -> { });
        }
        assertThat(target.resolve("disk-drive-virtio1.raw")).exists();
        assertThat(target.resolve("disk-drive-scsi0.raw")).doesNotExist();
    }

    @Test
    void configNameThatWouldEscapeIsRefusedAndNothingIsWritten() throws Exception {
        Path archive = dir.resolve("evil.vma");
        try (VmaWriter w = VmaWriter.builder().config("../../escaped.conf", new byte[] {1}).disk("d", 4096)
                .open(archive)) {
            w.write(w.device("d"), 0, ByteBuffer.allocate(4096));
        }
        Path target = dir.resolve("a").resolve("b");
        Files.createDirectories(target.getParent());
        try (VmaReader r = VmaReader.open(archive)) {
            assertThatThrownBy(() -> VmaExtractor.extract(r, target, Set.of(), s -> { }))
                    .isInstanceOf(VmaFormatException.class).hasMessageContaining("../../escaped.conf");
        }
        assertThat(dir.resolve("escaped.conf")).doesNotExist();
        assertThat(target).doesNotExist();
    }

    @Test
    void truncatedArchiveLeavesNoDiskImage() throws Exception {
        byte[] full = Files.readAllBytes(VectorsTest.vector("two-disks.vma"));
        Path cut = dir.resolve("cut.vma");
        Files.write(cut, java.util.Arrays.copyOf(full, 12800 + 512 + 4096 * 3));
        Path target = dir.resolve("t");
        try (VmaReader r = VmaReader.open(cut)) {
            assertThatThrownBy(() -> VmaExtractor.extract(r, target, Set.of(), s -> { }))
                    .isInstanceOf(VmaFormatException.class).hasMessageContaining("truncated");
        }
        try (var files = Files.list(target)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("qemu-server.conf");
        }
    }
}
