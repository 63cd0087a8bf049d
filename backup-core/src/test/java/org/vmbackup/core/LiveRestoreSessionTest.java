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

/** What live restore and the archive export refuse before starting anything, and what a bad archive fails later. */
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
        Path images = tmp.resolve("images");
        assertThatThrownBy(() -> LiveRestoreSession.builder().archive(zst).imageDirectory(images)
                .socketDirectory(tmp.resolve("s")).build().prepare().join())
                .cause().isInstanceOf(BackupException.class).hasMessageContaining(zst.toString())
                .hasMessageContaining("needs random access");
        assertThat(images).doesNotExist();
        assertThatThrownBy(() -> ArchiveExportServer.builder(zst).unixSocket(tmp.resolve("n.sock")).start().join())
                .cause().isInstanceOf(BackupException.class).hasMessageContaining("decompress it");
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

    @Test
    void aTruncatedArchiveIsPreparedFromItsHeaderButItsIndexFailsAndTheEagerExportRefusesIt() throws Exception {
        byte[] plain = Files.readAllBytes(RestoreVectors.dir().resolve("two-disks.vma"));
        Path cut = tmp.resolve("cut.vma");
        Files.write(cut, java.util.Arrays.copyOf(plain, plain.length - 1000));
        Path images = tmp.resolve("images");
        LiveRestorePlan plan = LiveRestoreSession.builder().archive(cut).imageDirectory(images)
                .socketDirectory(tmp.resolve("s")).build().prepare().join();
        try {
            assertThat(plan.images()).containsOnlyKeys("drive-scsi0", "drive-virtio1", "drive-efidisk0");
            assertThat(plan.images().values()).allMatch(Files::exists);
            assertThat(plan.nbdSocket()).exists();
            assertThatThrownBy(() -> plan.archiveIndexed().join()).hasMessageContaining(cut.toString())
                    .hasMessageContaining("truncated").hasRootCauseInstanceOf(VmaFormatException.class);
        } finally {
            plan.close().join();
        }
        assertThatThrownBy(() -> ArchiveExportServer.builder(cut).unixSocket(tmp.resolve("n.sock")).start().join())
                .hasMessageContaining("truncated").hasRootCauseInstanceOf(VmaFormatException.class);
        assertThat(tmp.resolve("n.sock")).doesNotExist();
    }

    @Test
    void theBackgroundIndexedExportServesTheSameDevicesAsTheEagerOne() throws Exception {
        Path archive = RestoreVectors.dir().resolve("two-disks.vma");
        ArchiveExportServer eager = ArchiveExportServer.builder(archive).unixSocket(tmp.resolve("e.sock")).start()
                .join();
        ArchiveExportServer lazy = ArchiveExportServer.builder(archive).unixSocket(tmp.resolve("l.sock"))
                .indexInBackground(true).start().join();
        try {
            assertThat(lazy.disks()).isEqualTo(eager.disks()).hasSize(3);
            assertThat(lazy.server().exports()).containsExactlyInAnyOrderElementsOf(eager.server().exports());
            lazy.ready().join();
            for (var d : eager.disks()) {
                assertThat(lazy.server().metrics(d.name())).isNotNull();
            }
        } finally {
            lazy.close().join();
            eager.close().join();
        }
    }
}
