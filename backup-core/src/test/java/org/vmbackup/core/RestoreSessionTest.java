package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.vmbackup.vma.VmaCompression;
import org.vmbackup.vma.VmaFormatException;

class RestoreSessionTest {
    @TempDir
    Path tmp;

    static Stream<String> vectors() {
        return RestoreVectors.expected().keySet().stream();
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void everyVectorRestoresToTheExpectedImages(String archive) throws Exception {
        Path out = tmp.resolve("out");
        List<RestoreProgress> progress = Collections.synchronizedList(new ArrayList<>());
        RestoreResult r = RestoreSession.builder().archive(RestoreVectors.dir().resolve(archive))
                .imageDirectory(out).progress(progress::add).build().start().join();
        assertDisks(archive, r);
        if (RestoreVectors.expected().get(archive).isEmpty()) {
            assertThat(progress).allMatch(RestoreProgress::finished); // nothing to restore: nothing moves
            return;
        }
        assertThat(progress).isNotEmpty();
        RestoreProgress last = progress.get(progress.size() - 1);
        assertThat(last.finished()).isTrue();
        for (RestoreVectors.Device d : RestoreVectors.expected().get(archive)) {
            assertThat(last.disk(d.name())).isNotNull();
            assertThat(last.disk(d.name()).doneBytes()).isEqualTo(last.disk(d.name()).totalBytes());
            // each disk's count only grows, and it is reported finished only once complete
            long prev = -1;
            for (RestoreProgress p : progress) {
                DiskProgress dp = p.disk(d.name());
                assertThat(dp.doneBytes()).isGreaterThanOrEqualTo(prev);
                prev = dp.doneBytes();
                assertThat(!dp.finished() || dp.doneBytes() == dp.totalBytes()).isTrue();
            }
        }
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".part"));
        }
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void compressedStreamsRestoreLikeTheFile(String archive) throws Exception {
        byte[] plain = Files.readAllBytes(RestoreVectors.dir().resolve(archive));
        for (VmaCompression c : List.of(VmaCompression.ZSTD, VmaCompression.GZIP)) {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try (WritableByteChannel w = c.compress(Channels.newChannel(bos), 3, 0)) {
                w.write(java.nio.ByteBuffer.wrap(plain));
            }
            Path out = tmp.resolve("out-" + c);
            RestoreResult r = RestoreSession.builder().archive(new ByteArrayInputStream(bos.toByteArray()))
                    .imageDirectory(out).build().start().join();
            assertDisks(archive, r);
            assertThat(r.archiveBytes()).isEqualTo(plain.length);
        }
    }

    @Test
    void zeroDiskIsExactSizeWithNoDataWritten() throws Exception {
        RestoreResult r = RestoreSession.builder().archive(RestoreVectors.dir().resolve("zero-disk.vma"))
                .imageDirectory(tmp.resolve("z")).build().start().join();
        Path img = r.disks().get(0).path();
        assertThat(Files.size(img)).isEqualTo(4194304);
        assertThat(r.disks().get(0).dataBytes()).isZero();
    }

    @Test
    void corruptArchiveFailsWithTheFormatMessageAndLeavesNothing() throws Exception {
        byte[] a = Files.readAllBytes(RestoreVectors.dir().resolve("two-disks.vma"));
        byte[] cut = java.util.Arrays.copyOf(a, a.length - 70000);
        Path out = tmp.resolve("bad");
        assertThatThrownBy(() -> RestoreSession.builder().archive(new ByteArrayInputStream(cut)).imageDirectory(out)
                .build().start().join())
                .isInstanceOf(CompletionException.class)
                .cause().isInstanceOf(java.io.UncheckedIOException.class).hasMessageContaining("the archive stream")
                .hasMessageContaining("truncated").hasRootCauseInstanceOf(VmaFormatException.class);
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s).isEmpty();
        }
    }

    @Test
    void refusesToOverwriteAnExistingImageBeforeWriting() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("exists"));
        Files.writeString(out.resolve("drive-virtio1.raw"), "keep me");
        assertThatThrownBy(() -> RestoreSession.builder().archive(RestoreVectors.dir().resolve("two-disks.vma"))
                .imageDirectory(out).build().start().join())
                .cause().isInstanceOf(BackupException.class).hasMessageContaining("drive-virtio1.raw");
        assertThat(Files.readString(out.resolve("drive-virtio1.raw"))).isEqualTo("keep me");
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s).hasSize(1);
        }
    }

    @Test
    void restoresOnlyTheChosenDevices() throws Exception {
        RestoreResult r = RestoreSession.builder().archive(RestoreVectors.dir().resolve("two-disks.vma"))
                .imageDirectory(tmp.resolve("one")).disks(Set.of("drive-efidisk0")).build().start().join();
        assertThat(r.disks()).extracting(RestoredDisk::name).containsExactly("drive-efidisk0");
        assertThatThrownBy(() -> RestoreSession.builder().archive(RestoreVectors.dir().resolve("two-disks.vma"))
                .imageDirectory(tmp.resolve("none")).disks(Set.of("nope")).build().start().join())
                .cause().isInstanceOf(BackupException.class).hasMessageContaining("nope");
    }

    private static void assertDisks(String archive, RestoreResult r) throws Exception {
        List<RestoreVectors.Device> expected = RestoreVectors.expected().get(archive);
        assertThat(r.disks()).extracting(RestoredDisk::name)
                .containsExactlyElementsOf(expected.stream().map(RestoreVectors.Device::name).toList());
        for (int i = 0; i < expected.size(); i++) {
            RestoredDisk d = r.disks().get(i);
            assertThat(d.path().getFileName().toString()).isEqualTo(expected.get(i).name() + ".raw");
            assertThat(Files.size(d.path())).isEqualTo(expected.get(i).size());
            assertThat(RestoreVectors.sha256(d.path())).as(archive + " " + d.name()).isEqualTo(expected.get(i).sha256());
        }
    }
}
