package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.vmbackup.core.ArchiveSourceFixtures.*;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad archives give one error naming the archive and where, never wrong data. */
class ArchiveSourceErrorsTest {
    @TempDir
    Path tmp;

    private Content content() {
        return new Content(List.of("drive-scsi0"), List.of(random(5 << 20, 1)), List.of(), random(100_000, 2));
    }

    private Path written(String name) throws IOException {
        Path p = tmp.resolve(name);
        write(ArchiveTarget.of(p), content());
        return p;
    }

    private static void truncate(Path file, long size) throws IOException {
        try (var ch = Files.newByteChannel(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    @Test
    void aTruncatedVmaFileFailsNamingTheArchiveAndTheOffset() throws Exception {
        Path p = written("a.vma");
        truncate(p, Files.size(p) - 1000);
        try (ArchiveSource s = ArchiveSource.open(p)) {
            assertThatThrownBy(() -> readAll(s)).isInstanceOf(IOException.class)
                    .hasMessageContaining(p.toString()).hasMessageContaining("offset").hasMessageContaining("truncated");
            assertThatThrownBy(() -> s.disk(0)).isInstanceOf(IOException.class)
                    .hasMessageContaining(p.toString()).hasMessageContaining("truncated");
        }
    }

    @Test
    void aCutAtAnExtentBoundaryIsReportedAsIncomplete() throws Exception {
        Path p = written("b.vma");
        // cut the archive right before its second extent: every byte left is well formed, clusters are missing
        byte[] all = Files.readAllBytes(p);
        int second = -1;
        for (int i = 12288 + 512; i + 4 <= all.length; i += 512) {
            if (all[i] == 'V' && all[i + 1] == 'M' && all[i + 2] == 'A' && all[i + 3] == 'E') {
                second = i;
                break;
            }
        }
        assertThat(second).isPositive();
        truncate(p, second);
        try (ArchiveSource s = ArchiveSource.open(p)) {
            assertThatThrownBy(() -> readAll(s)).isInstanceOf(IOException.class)
                    .hasMessageContaining(p.toString()).hasMessageContaining("archive ends but device");
        }
    }

    @Test
    void aCorruptExtentHeaderFails() throws Exception {
        Path p = written("c.vma");
        byte[] all = Files.readAllBytes(p);
        int headerSize = java.nio.ByteBuffer.wrap(all).getInt(56);
        all[headerSize + 100] ^= 1; // inside the first extent header: its MD5 no longer matches
        Files.write(p, all);
        try (ArchiveSource s = ArchiveSource.open(p)) {
            assertThatThrownBy(() -> readAll(s)).isInstanceOf(IOException.class)
                    .hasMessageContaining(p.toString()).hasMessageContaining("offset " + headerSize);
        }
    }

    @Test
    void aTruncatedCompressedVmaFails() throws Exception {
        Path p = written("d.vma.zst");
        truncate(p, Files.size(p) / 2);
        try (ArchiveSource s = ArchiveSource.open(p)) {
            assertThatThrownBy(() -> readAll(s)).isInstanceOf(IOException.class).hasMessageContaining(p.toString());
        }
    }

    @Test
    void aSequentialSourceNamesItselfWhenAskedForRandomAccess() throws Exception {
        Path p = written("e.vma.gz");
        try (ArchiveSource s = ArchiveSource.open(p)) {
            assertThat(s.randomAccess()).isFalse();
            assertThatThrownBy(() -> s.disk(0)).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining(p.toString()).hasMessageContaining("VMA stream");
            assertThatThrownBy(s::vmstate).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining(p.toString()).hasMessageContaining("VMA stream");
            readAll(s);
            assertThatThrownBy(() -> readAll(s)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already read");
        }
    }

    @Test
    void aTruncatedDirectoryArchiveDiskFailsAtOpen() throws Exception {
        Path p = written("dir1");
        truncate(p.resolve("disk-drive-scsi0.raw"), 4096);
        assertThatThrownBy(() -> ArchiveSource.open(p)).isInstanceOf(IOException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("disk-drive-scsi0.raw is 4096 bytes")
                .hasMessageContaining("truncated");
        Path q = written("dir2");
        truncate(q.resolve("vmstate.bin"), 10);
        assertThatThrownBy(() -> ArchiveSource.open(q)).hasMessageContaining("vmstate.bin is 10 bytes");
    }

    @Test
    void aManifestNamingAnotherFileOrAHostileNameIsRefused() throws Exception {
        Path p = written("dir3");
        Path m = p.resolve("manifest.json");
        String text = Files.readString(m);
        Files.writeString(m, text.replace("\"disk-drive-scsi0.raw\"", "\"../../etc/passwd\""));
        assertThatThrownBy(() -> ArchiveSource.open(p)).isInstanceOf(IOException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("'../../etc/passwd'");
        Files.writeString(m, text.replace("\"name\": \"drive-scsi0\"", "\"name\": \"../x\""));
        assertThatThrownBy(() -> ArchiveSource.open(p)).isInstanceOf(IOException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("not a plain file name");
        Files.writeString(m, "{\"format\": \"something-else\", \"version\": 1}");
        assertThatThrownBy(() -> ArchiveSource.open(p)).hasMessageContaining("something-else");
        Files.writeString(m, "{not json");
        assertThatThrownBy(() -> ArchiveSource.open(p)).isInstanceOf(IOException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("manifest.json");
    }

    @Test
    void anythingElseIsRefusedInOneLine() throws Exception {
        Path missing = tmp.resolve("nope.vma");
        assertThatThrownBy(() -> ArchiveSource.open(missing)).isInstanceOf(NoSuchFileException.class);
        Path plainDir = Files.createDirectory(tmp.resolve("plain"));
        assertThatThrownBy(() -> ArchiveSource.open(plainDir)).isInstanceOf(IOException.class)
                .hasMessage(plainDir + " is a directory but not a directory archive (no manifest.json)");
        Path text = Files.writeString(tmp.resolve("notes.vma"), "hello, world");
        assertThatThrownBy(() -> ArchiveSource.open(text)).isInstanceOf(IOException.class)
                .hasMessageContaining(text.toString()).hasMessageContaining("not an archive");
        Path empty = Files.createFile(tmp.resolve("empty.vma"));
        assertThatThrownBy(() -> ArchiveSource.open(empty)).hasMessageContaining("not an archive");
        Path gz = tmp.resolve("text.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write("not a vma at all".getBytes(StandardCharsets.US_ASCII));
        }
        assertThatThrownBy(() -> ArchiveSource.open(gz)).isInstanceOf(IOException.class)
                .hasMessageContaining(gz.toString()).hasMessageContaining("VMA");
    }

    @Test
    void aVmaWhoseDeviceNameIsNotAPlainFileNameIsRefusedAtOpen() throws Exception {
        Path p = tmp.resolve("hostile.vma");
        try (org.vmbackup.vma.VmaWriter w = org.vmbackup.vma.VmaWriter.builder().disk(".hidden", 4096).open(p)) {
            w.write(w.device(".hidden"), 0, java.nio.ByteBuffer.allocate(4096));
        }
        assertThatThrownBy(() -> ArchiveSource.open(p)).isInstanceOf(IOException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("'.hidden' is not a plain file name");
    }

    @Test
    void theConsumersOwnExceptionComesOutUnchanged() throws Exception {
        for (String name : List.of("f.vma", "f.vma.zst", "f-dir")) {
            Path p = written(name);
            IOException mine = new IOException("disk full");
            try (ArchiveSource s = ArchiveSource.open(p)) {
                assertThatThrownBy(() -> s.read(new ArchiveVisitor() {
                    @Override
                    public void data(int disk, long offset, java.nio.ByteBuffer data) throws IOException {
                        throw mine;
                    }

                    @Override
                    public void zero(int disk, long offset, long length) throws IOException {
                        throw mine;
                    }
                })).as(name).isSameAs(mine);
            }
        }
    }

    @Test
    void aSourceWithoutVmstateSaysSo() throws Exception {
        Path p = tmp.resolve("novm.vma");
        write(ArchiveTarget.of(p), new Content(List.of("d"), List.of(random(5000, 3)), List.of(), new byte[0]));
        try (ArchiveSource s = ArchiveSource.open(p)) {
            assertThat(s.layout().hasVmstate()).isFalse();
            assertThatThrownBy(s::vmstate).isInstanceOf(IOException.class).hasMessageContaining("no VM state");
        }
    }
}
