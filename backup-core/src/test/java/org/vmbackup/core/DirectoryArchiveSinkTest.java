package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryArchiveSinkTest {
    @TempDir
    Path tmp;

    private static ArchiveLayout layout(long vmstate) {
        return new ArchiveLayout(UUID.fromString("11111111-2222-3333-4444-555555555555"),
                Instant.parse("2026-12-01T12:00:00Z"),
                List.of(new ArchiveDisk("drive-hd0", 3 << 20), new ArchiveDisk("drive-hd1", 5000)), vmstate,
                List.of(ConfigBlob.ofText("vm.json", "{}\n")));
    }

    @Test
    void committedDirectoryHoldsExactImagesStreamConfigsAndManifest() throws IOException {
        Path target = tmp.resolve("backup1");
        ArchiveSink sink = ArchiveTarget.directory(target).open(layout(1 << 20));
        assertThat(target).doesNotExist();
        byte[] a = new byte[1 << 20];
        new Random(1).nextBytes(a);
        // out of order, like QEMU's job
        sink.write(0, 2 << 20, ByteBuffer.wrap(a));
        sink.writeZeroes(0, 1 << 20, 1 << 20);
        sink.write(0, 0, ByteBuffer.wrap(a, 0, 4096));
        sink.write(1, 4096, ByteBuffer.wrap(a, 0, 904));
        try (WritableByteChannel vm = sink.vmstateChannel()) {
            vm.write(ByteBuffer.wrap("QEVM-stream".getBytes(StandardCharsets.US_ASCII)));
        }
        sink.commit();

        byte[] img0 = Files.readAllBytes(target.resolve("disk-drive-hd0.raw"));
        assertThat(img0).hasSize(3 << 20);
        assertThat(Arrays.copyOfRange(img0, 0, 4096)).isEqualTo(Arrays.copyOfRange(a, 0, 4096));
        assertThat(Arrays.copyOfRange(img0, 4096, 2 << 20)).containsOnly(0);
        assertThat(Arrays.copyOfRange(img0, 2 << 20, 3 << 20)).isEqualTo(a);
        byte[] img1 = Files.readAllBytes(target.resolve("disk-drive-hd1.raw"));
        assertThat(img1).hasSize(5000);
        assertThat(Arrays.copyOfRange(img1, 4096, 5000)).isEqualTo(Arrays.copyOfRange(a, 0, 904));
        assertThat(Files.readString(target.resolve("vmstate.bin"))).isEqualTo("QEVM-stream");
        assertThat(Files.readString(target.resolve("config/vm.json"))).isEqualTo("{}\n");
        String manifest = Files.readString(target.resolve("manifest.json"));
        assertThat(manifest).contains("\"format\": \"vmbackup-directory\"")
                .contains("\"uuid\": \"11111111-2222-3333-4444-555555555555\"")
                .contains("\"file\": \"disk-drive-hd1.raw\"").contains("\"size\": 5000")
                .contains("\"size\": 11");
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("backup1");
        }
    }

    @Test
    void zeroRangeOverWrittenDataWritesRealZeroes() throws IOException {
        Path target = tmp.resolve("b");
        ArchiveSink sink = DirectoryArchiveSink.open(target, layout(0));
        byte[] ones = new byte[8192];
        Arrays.fill(ones, (byte) 1);
        sink.write(0, 0, ByteBuffer.wrap(ones));
        sink.writeZeroes(0, 4096, 2048);
        sink.commit();
        byte[] img = Files.readAllBytes(target.resolve("disk-drive-hd0.raw"));
        assertThat(Arrays.copyOfRange(img, 4096, 6144)).containsOnly(0);
        assertThat(Arrays.copyOfRange(img, 6144, 8192)).containsOnly(1);
        assertThat(target.resolve("vmstate.bin")).doesNotExist();
        assertThat(Files.readString(target.resolve("manifest.json"))).contains("\"vmstate\": null");
    }

    @Test
    void abortLeavesNothingAndCommitAfterAbortFails() throws IOException {
        Path target = tmp.resolve("b");
        ArchiveSink sink = ArchiveTarget.directory(target).open(layout(100));
        sink.write(0, 0, ByteBuffer.allocate(10));
        sink.abort();
        sink.abort();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.toList()).isEmpty();
        }
        assertThatThrownBy(sink::commit).isInstanceOf(IOException.class).hasMessageContaining("already");
        assertThatThrownBy(() -> sink.write(0, 0, ByteBuffer.allocate(1))).isInstanceOf(IOException.class);
    }

    @Test
    void refusesOutOfRangeWritesNamingDiskAndOffset() throws IOException {
        ArchiveSink sink = ArchiveTarget.directory(tmp.resolve("b")).open(layout(0));
        try {
            assertThatThrownBy(() -> sink.write(1, 4999, ByteBuffer.allocate(2))).isInstanceOf(IOException.class)
                    .hasMessageContaining("drive-hd1").hasMessageContaining("offset 4999");
            assertThatThrownBy(() -> sink.writeZeroes(0, -1, 1)).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> sink.write(2, 0, ByteBuffer.allocate(1))).isInstanceOf(IOException.class)
                    .hasMessageContaining("no disk number 2");
            assertThatThrownBy(sink::vmstateChannel).isInstanceOf(IOException.class)
                    .hasMessageContaining("without a VM state");
        } finally {
            sink.abort();
        }
    }

    @Test
    void refusesAnExistingTarget() throws IOException {
        Path target = Files.createDirectory(tmp.resolve("exists"));
        assertThatThrownBy(() -> ArchiveTarget.directory(target).open(layout(0)))
                .isInstanceOf(FileAlreadyExistsException.class);
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.toList()).containsExactly(target);
        }
    }

    @Test
    void commitFailsWhenTheTargetAppearedMeanwhileAndLeavesItAlone() throws IOException {
        Path target = tmp.resolve("late");
        ArchiveSink sink = ArchiveTarget.directory(target).open(layout(0));
        Files.createDirectory(target);
        Files.writeString(target.resolve("theirs"), "x");
        assertThatThrownBy(sink::commit).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(target.resolve("theirs")).hasContent("x");
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.toList()).containsExactly(target);
        }
    }
}
