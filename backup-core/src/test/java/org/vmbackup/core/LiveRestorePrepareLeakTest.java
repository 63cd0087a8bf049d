package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@link LiveRestoreSession#prepare()} that fails or is cancelled releases the archive it was handed: the source
 * is closed (and the NBD server that serves it is stopped), whichever step failed.
 */
class LiveRestorePrepareLeakTest {
    @TempDir
    Path tmp;

    /** An archive source that says whether it was closed. */
    private static final class Watched extends ArchiveSourceFixtures.ForwardingSource {
        final CompletableFuture<Void> closed = new CompletableFuture<>();

        Watched(ArchiveSource inner) {
            super(inner);
        }

        @Override
        public void close() throws IOException {
            closed.complete(null);
            super.close();
        }
    }

    private Watched source() throws IOException {
        return new Watched(ArchiveSource.open(RestoreVectors.dir().resolve("two-disks.vma")));
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void aSocketDirectoryThatCannotBeMadeClosesTheArchive() throws Exception {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Watched src = source();
        LiveRestoreSession s = LiveRestoreSession.builder().archive(src).imageDirectory(tmp.resolve("images"))
                .socketDirectory(file.resolve("sockets")).build();
        assertThatThrownBy(() -> s.prepare().get(1, TimeUnit.MINUTES)).hasMessageContaining("a-file");
        assertThat(src.closed).as("the archive is released").succeedsWithin(10, TimeUnit.SECONDS);
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void aCancelWhileTheImagesAreCreatedStopsTheServerAndClosesTheArchive() throws Exception {
        // a qemu-img that says when it runs and takes its time, so the cancel comes while the images are made
        Path marker = tmp.resolve("creating");
        Path slowQemuImg = tmp.resolve("slow-qemu-img");
        Files.writeString(slowQemuImg, "#!/bin/sh\ntouch '" + marker + "'\nsleep 1\nexec qemu-img \"$@\"\n");
        Files.setPosixFilePermissions(slowQemuImg, PosixFilePermissions.fromString("rwx------"));
        Watched src = source();
        LiveRestoreSession s = LiveRestoreSession.builder().archive(src).imageDirectory(tmp.resolve("images"))
                .socketDirectory(tmp.resolve("sockets")).qemuImg(slowQemuImg).build();
        CompletableFuture<LiveRestorePlan> f = s.prepare();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(marker) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(marker).as("qemu-img started").exists();
        assertThat(s.cancel()).isTrue();
        assertThatThrownBy(() -> f.get(1, TimeUnit.MINUTES)).isInstanceOf(CancellationException.class);
        assertThat(src.closed).as("the archive is released, its NBD server stopped")
                .succeedsWithin(10, TimeUnit.SECONDS);
        assertThat(tmp.resolve("images").resolve("drive-scsi0.qcow2")).doesNotExist();
    }
}
