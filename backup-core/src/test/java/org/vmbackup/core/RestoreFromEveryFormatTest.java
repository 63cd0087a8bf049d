package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vmbackup.core.ArchiveSourceFixtures.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link RestoreSession} from each archive format the sinks write: the same bit-exact images from every one. */
@Timeout(120)
class RestoreFromEveryFormatTest {
    @TempDir
    Path tmp;

    private static final Content CONTENT = new Content(List.of("drive-scsi0", "drive-virtio1"),
            List.of(sparseDisk(3 << 20, 11), sparseDisk((1 << 20) + 4097, 12)),
            List.of(ConfigBlob.ofText("vm.json", "{}\n")), random(70_000, 13));

    private Path archive(String kind) throws Exception {
        Path p = tmp.resolve(kind.equals("dir") ? "archive" : "archive." + kind);
        write(ArchiveTarget.of(p), CONTENT);
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"vma", "vma.zst", "dir"})
    void rawImagesAreBitExactAndNothingTemporaryIsLeft(String kind) throws Exception {
        Path out = tmp.resolve("out");
        RestoreResult r = RestoreSession.builder().archive(archive(kind)).imageDirectory(out).build().start().join();
        assertThat(r.disks()).extracting(RestoredDisk::name).containsExactly("drive-scsi0", "drive-virtio1");
        for (int i = 0; i < 2; i++) {
            assertThat(r.disks().get(i).path()).isEqualTo(out.resolve(CONTENT.names().get(i) + ".raw"));
            assertThat(Files.readAllBytes(r.disks().get(i).path())).as(kind + " disk " + i)
                    .isEqualTo(CONTENT.disks().get(i));
        }
        assertThat(r.archiveBytes()).isPositive();
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("drive-scsi0.raw",
                    "drive-virtio1.raw");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vma", "vma.zst", "dir"})
    void qcow2ImagesHoldTheSameBytes(String kind) throws Exception {
        Path out = tmp.resolve("out");
        RestoreResult r = RestoreSession.builder().archive(archive(kind)).imageDirectory(out)
                .format(RestoreFormat.QCOW2).build().start().join();
        for (int i = 0; i < 2; i++) {
            Path raw = tmp.resolve("expected-" + i + ".raw");
            Files.write(raw, CONTENT.disks().get(i));
            assertThat(r.disks().get(i).path()).isEqualTo(out.resolve(CONTENT.names().get(i) + ".qcow2"));
            // qemu-img compare exits non-zero (and run() fails) when the guest-visible contents differ
            assertThat(RestoreTools.run("qemu-img", "compare", "-q", "-f", "raw", "-F", "qcow2", raw.toString(),
                    r.disks().get(i).path().toString())).as(kind + " disk " + i).isEmpty();
        }
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("drive-scsi0.qcow2",
                    "drive-virtio1.qcow2");
        }
    }
}
