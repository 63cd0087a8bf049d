package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reference VMA vectors through every VMA source: the disks' digests match expected.json. */
class ArchiveSourceVectorsTest {
    @TempDir
    Path tmp;

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static void assertDisks(ArchiveSource s, List<RestoreVectors.Device> expected, List<byte[]> disks)
            throws Exception {
        assertThat(s.layout().disks()).extracting(ArchiveDisk::name)
                .containsExactlyElementsOf(expected.stream().map(RestoreVectors.Device::name).toList());
        for (int i = 0; i < expected.size(); i++) {
            assertThat(s.layout().disk(i).size()).isEqualTo(expected.get(i).size());
            assertThat(sha256(disks.get(i))).as(expected.get(i).name()).isEqualTo(expected.get(i).sha256());
        }
    }

    @Test
    void everyVectorReadsBackExactlyThroughTheFileSource() throws Exception {
        Map<String, List<RestoreVectors.Device>> all = RestoreVectors.expected();
        assertThat(all).hasSizeGreaterThanOrEqualTo(4);
        for (Map.Entry<String, List<RestoreVectors.Device>> e : all.entrySet()) {
            try (ArchiveSource s = ArchiveSource.open(RestoreVectors.dir().resolve(e.getKey()))) {
                assertThat(s.randomAccess()).isTrue();
                assertDisks(s, e.getValue(), ArchiveSourceFixtures.readAll(s).disks());
                List<byte[]> random = new java.util.ArrayList<>();
                for (int i = 0; i < e.getValue().size(); i++) {
                    random.add(ArchiveSourceFixtures.readRandomAccess(s, i));
                }
                assertDisks(s, e.getValue(), random);
                assertThat(s.layout().configs()).extracting(ConfigBlob::name).contains("qemu-server.conf");
            }
        }
    }

    @Test
    void everyVectorReadsBackExactlyFromGzipFilesAndStreams() throws Exception {
        for (Map.Entry<String, List<RestoreVectors.Device>> e : RestoreVectors.expected().entrySet()) {
            Path gz = tmp.resolve(e.getKey() + ".gz");
            try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
                Files.copy(RestoreVectors.dir().resolve(e.getKey()), out);
            }
            try (ArchiveSource s = ArchiveSource.open(gz)) {
                assertThat(s.randomAccess()).isFalse();
                assertDisks(s, e.getValue(), ArchiveSourceFixtures.readAll(s).disks());
            }
            try (ArchiveSource s = ArchiveSource.vmaStream(Files.newInputStream(gz), "stdin")) {
                assertThat(s.describe()).isEqualTo("stdin");
                assertDisks(s, e.getValue(), ArchiveSourceFixtures.readAll(s).disks());
            }
        }
    }

    @Test
    void aVectorWrittenAsADirectoryArchiveReadsBackTheSame() throws Exception {
        Path vector = RestoreVectors.dir().resolve("two-disks.vma");
        Path dir = tmp.resolve("two-disks");
        try (ArchiveSource vma = ArchiveSource.open(vector)) {
            ArchiveSink sink = ArchiveTarget.directory(dir).open(vma.layout());
            vma.read(new ArchiveVisitor() {
                @Override
                public void data(int disk, long offset, java.nio.ByteBuffer data) throws IOException {
                    sink.write(disk, offset, data);
                }

                @Override
                public void zero(int disk, long offset, long length) throws IOException {
                    sink.writeZeroes(disk, offset, length);
                }
            });
            sink.commit();
        }
        try (ArchiveSource s = ArchiveSource.open(dir)) {
            assertDisks(s, RestoreVectors.expected().get("two-disks.vma"), ArchiveSourceFixtures.readAll(s).disks());
        }
    }
}
