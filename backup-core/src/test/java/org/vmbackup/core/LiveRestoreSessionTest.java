package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.vma.VmaCompression;
import org.vmbackup.vma.VmaFormatException;

/** What live restore and the archive export refuse before starting anything. */
class LiveRestoreSessionTest {
    @TempDir
    Path tmp;

    @Test
    void compressedArchivesAreRefusedWithAClearMessageAndNoImages() throws Exception {
        byte[] plain = Files.readAllBytes(RestoreVectors.dir().resolve("two-disks.vma"));
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (WritableByteChannel w = VmaCompression.ZSTD.compress(Channels.newChannel(bos), 3, 0)) {
            w.write(ByteBuffer.wrap(plain));
        }
        Path zst = tmp.resolve("a.vma.zst");
        Files.write(zst, bos.toByteArray());
        assertThat(VmaExportServer.isSeekable(zst)).isFalse();
        assertThat(VmaExportServer.isSeekable(RestoreVectors.dir().resolve("two-disks.vma"))).isTrue();
        Path images = tmp.resolve("images");
        assertThatThrownBy(() -> LiveRestoreSession.builder().archive(zst).imageDirectory(images)
                .socketDirectory(tmp.resolve("s")).build().prepare().join())
                .cause().isInstanceOf(VmaFormatException.class).hasMessageContaining("uncompressed archive");
        assertThat(images).doesNotExist();
        assertThatThrownBy(() -> VmaExportServer.builder(zst).unixSocket(tmp.resolve("n.sock")).start().join())
                .cause().isInstanceOf(VmaFormatException.class).hasMessageContaining("decompress it first");
    }

    @Test
    void existingImagesAreNeverOverwritten() throws Exception {
        Path images = Files.createDirectories(tmp.resolve("images"));
        Files.writeString(images.resolve("drive-virtio1.qcow2"), "mine");
        assertThatThrownBy(() -> LiveRestoreSession.builder().archive(RestoreVectors.dir().resolve("two-disks.vma"))
                .imageDirectory(images).socketDirectory(tmp.resolve("s")).build().prepare().join())
                .cause().isInstanceOf(BackupException.class).hasMessageContaining("drive-virtio1.qcow2");
        assertThat(Files.readString(images.resolve("drive-virtio1.qcow2"))).isEqualTo("mine");
        try (Stream<Path> s = Files.list(images)) {
            assertThat(s).hasSize(1);
        }
        try (Stream<Path> s = Files.list(tmp.resolve("s"))) {
            assertThat(s).as("the NBD socket is gone").isEmpty();
        }
    }
}
