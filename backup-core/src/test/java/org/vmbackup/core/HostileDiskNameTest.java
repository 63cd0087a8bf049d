package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.vmbackup.core.ArchiveSourceFixtures.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vmbackup.vma.VmaCompression;
import org.vmbackup.vma.VmaWriter;

/**
 * An archive whose *disk* name is not a plain file name ({@link org.vmbackup.vma.ArchiveNames}: a path, a leading
 * dot, over 200 bytes), fed through every restore path from every format: each refuses it naming the name, and
 * nothing is written (no image, no temporary file, no socket, no directory).
 */
@Timeout(120)
class HostileDiskNameTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String name : List.of("../x", ".hidden", "d".repeat(300))) {
            for (String kind : List.of("vma", "vma.zst", "vma stream", "dir")) {
                out.add(Arguments.of(name, kind));
            }
        }
        return out.stream();
    }

    /** A VMA with one good disk and one named {@code name}; a directory archive's manifest edited likewise. */
    private Path archive(String name, String kind) throws Exception {
        if (kind.equals("dir")) {
            Path dir = tmp.resolve("archive");
            write(ArchiveTarget.of(dir), new Content(List.of("drive-good", "drive-bad"),
                    List.of(random(8192, 1), random(8192, 2)), List.of(), new byte[0]));
            Path manifest = dir.resolve(DirectoryArchiveSink.MANIFEST);
            String m = Files.readString(manifest, StandardCharsets.UTF_8);
            String json = name.replace("\\", "\\\\").replace("\"", "\\\"");
            assertThat(m).contains("\"drive-bad\"");
            Files.writeString(manifest, m.replace("\"drive-bad\"", "\"" + json + "\""), StandardCharsets.UTF_8);
            return dir;
        }
        Path vma = tmp.resolve("hostile.vma");
        try (VmaWriter w = VmaWriter.builder().disk("drive-good", 8192).disk(name, 8192).open(vma)) {
            w.write(w.device("drive-good"), 0, ByteBuffer.wrap(random(8192, 1)));
            w.write(w.device(name), 0, ByteBuffer.wrap(random(8192, 2)));
        }
        if (kind.equals("vma")) {
            return vma;
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (WritableByteChannel c = VmaCompression.ZSTD.compress(Channels.newChannel(bos), 3, 0)) {
            c.write(ByteBuffer.wrap(Files.readAllBytes(vma)));
        }
        Path zst = tmp.resolve("hostile.vma.zst");
        Files.write(zst, bos.toByteArray());
        Files.delete(vma);
        return zst;
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("cases")
    void everyRestorePathRefusesItAndWritesNothing(String name, String kind) throws Exception {
        Path archive = archive(name, kind);
        boolean stream = kind.equals("vma stream");
        Path out = tmp.resolve("out");
        List<CompletableFuture<?>> attempts = new ArrayList<>();
        for (RestoreFormat f : RestoreFormat.values()) {
            RestoreSession.Builder b = RestoreSession.builder().imageDirectory(out).format(f);
            attempts.add((stream ? b.archive(Files.newInputStream(archive)) : b.archive(archive)).build().start());
        }
        RestoreVmSession.Builder vm = RestoreVmSession.builder().qmpSocket(tmp.resolve("no-qemu.sock"))
                .workDirectory(out.resolve("work"));
        attempts.add((stream ? vm.archive(Files.newInputStream(archive)) : vm.archive(archive)).build().start());
        if (!stream) {
            attempts.add(LiveRestoreSession.builder().archive(archive).imageDirectory(out)
                    .socketDirectory(tmp.resolve("sockets")).build().prepare());
            attempts.add(ArchiveExportServer.builder(archive).unixSocket(tmp.resolve("export.sock")).start());
        }
        for (CompletableFuture<?> a : attempts) {
            // the name is refused when the archive is opened: before QEMU, the target directory, and (for a
            // .vma.zst at the random-access paths) before the missing random access
            assertThatThrownBy(a::join).as("%s %s", kind, name)
                    .satisfies(e -> assertThat(messages(e)).contains("is not a plain file name")
                            .contains(name.length() > 200 ? "longer than 200 bytes" : name));
        }
        assertThat(out).as("nothing written").doesNotExist();
        assertThat(tmp.resolve("export.sock")).doesNotExist();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString()))
                    .allMatch(n -> n.startsWith("hostile") || n.equals("archive") || n.equals("sockets"));
        }
        if (Files.exists(tmp.resolve("sockets"))) {
            try (Stream<Path> s = Files.list(tmp.resolve("sockets"))) {
                assertThat(s).isEmpty();
            }
        }
    }

    /** The messages along the cause chain (the refusal is wrapped differently by each path). */
    private static String messages(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t.getMessage()).append(" | ");
        }
        return b.toString();
    }
}
