package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vmbackup.core.ArchiveSourceFixtures.*;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Written by the sinks, read back through {@link ArchiveSource}: bit-exact, every format, every shape. */
class ArchiveSourceRoundTripTest {
    @TempDir
    Path tmp;

    private static final List<ConfigBlob> CONFIGS = List.of(ConfigBlob.ofText("vm.json", "{\"a\": 1}\n"),
            new ConfigBlob("empty.conf", new byte[0]));

    private ArchiveSource roundTrip(String kind, Content c) throws IOException {
        Path p = tmp.resolve(kind.equals("dir") ? "archive" : "archive." + kind);
        write(ArchiveTarget.of(p), c);
        ArchiveSource s = ArchiveSource.open(p);
        assertThat(s.layout()).isEqualTo(c.layout());
        assertThat(s.randomAccess()).isEqualTo(kind.equals("vma") || kind.equals("dir"));
        assertThat(s.describe()).isEqualTo(p.toString());
        return s;
    }

    private void check(String kind, Content c) throws IOException {
        boolean vma = kind.startsWith("vma");
        try (ArchiveSource s = roundTrip(kind, c)) {
            Read r = readAll(s);
            for (int i = 0; i < c.disks().size(); i++) {
                assertThat(r.disks().get(i)).as("disk %d through read()", i).isEqualTo(c.disks().get(i));
            }
            assertVmstate(r.vmstate(), c.vmstate(), vma);
            if (s.randomAccess()) {
                for (int i = 0; i < c.disks().size(); i++) {
                    assertThat(readRandomAccess(s, i)).as("disk %d by random access", i).isEqualTo(c.disks().get(i));
                }
                if (c.vmstate().length > 0) {
                    assertVmstate(readChannel(s.vmstate()), c.vmstate(), vma);
                }
                Read again = readAll(s); // a seekable source reads more than once
                assertThat(again.disks().get(0)).isEqualTo(c.disks().get(0));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vma", "vma.zst", "vma.gz", "dir"})
    void sparseDisksWithVmstate(String kind) throws IOException {
        check(kind, new Content(List.of("drive-scsi0", "drive-virtio1", "drive-efidisk0"),
                List.of(sparseDisk(5 << 20, 1), sparseDisk((3 << 20) + 12345, 2), random(540672, 3)), CONFIGS,
                random(300_000, 4)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"vma", "vma.zst", "vma.gz", "dir"})
    void withoutVmstate(String kind) throws IOException {
        check(kind, new Content(List.of("drive-scsi0", "drive-scsi1"),
                List.of(sparseDisk(2 << 20, 5), new byte[1 << 20]), CONFIGS, new byte[0]));
    }

    @ParameterizedTest
    @ValueSource(strings = {"vma", "vma.zst", "vma.gz", "dir"})
    void tinyDisks(String kind) throws IOException {
        check(kind, new Content(List.of("one-byte", "zero-byte-value", "odd"),
                List.of(new byte[] {42}, new byte[1], random(4097, 6)), List.of(), random(1, 7)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"vma", "vma.zst", "vma.gz", "dir"})
    void noDisks(String kind) throws IOException {
        Content c = new Content(List.of(), List.of(), CONFIGS, new byte[0]);
        try (ArchiveSource s = roundTrip(kind, c)) {
            Read r = readAll(s);
            assertThat(r.disks()).isEmpty();
            assertThat(r.vmstate()).isEmpty();
            assertThat(s.layout().configs()).isEqualTo(CONFIGS);
        }
    }
}
