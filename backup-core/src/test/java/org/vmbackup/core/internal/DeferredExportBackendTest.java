package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.core.RandomAccessDisk;
import org.vmbackup.nbd.NbdExtent;
import org.vmbackup.vma.VmaFormatException;

/** The export of a disk whose archive index is still being built. */
class DeferredExportBackendTest {
    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    private static Path vector() throws URISyntaxException {
        return Path.of(DeferredExportBackendTest.class.getResource("/vectors/two-disks.vma").toURI());
    }

    @Test
    void requestsWaitForTheIndexThenAnswerLikeTheRealBackend() throws Exception {
        try (ArchiveSource source = ArchiveSource.open(vector())) {
            RandomAccessDisk disk = source.disk(0);
            var d = disk.disk();
            ArchiveReadBackend real = new ArchiveReadBackend(disk, pool);
            CompletableFuture<ArchiveReadBackend> later = new CompletableFuture<>();
            DeferredExportBackend deferred = new DeferredExportBackend(d.size(), later);
            assertThat(deferred.size()).isEqualTo(d.size());
            assertThat(deferred.canWrite()).isFalse();
            assertThat(deferred.canExtents()).isTrue();
            assertThat(deferred.canMultiConn()).isTrue();
            int len = (int) Math.min(1 << 20, d.size());
            CompletableFuture<ByteBuf> read = deferred.read(0, len);
            CompletableFuture<List<NbdExtent>> extents = deferred.extents(0, d.size());
            Thread.sleep(50);
            assertThat(read).as("no answer before the index").isNotDone();
            assertThat(extents).isNotDone();
            later.complete(real);
            ByteBuf got = read.get(10, TimeUnit.SECONDS);
            ByteBuf want = real.read(0, len).get(10, TimeUnit.SECONDS);
            try {
                assertThat(ByteBufUtil.equals(got, want)).isTrue();
            } finally {
                got.release();
                want.release();
            }
            assertThat(List.copyOf(extents.get(10, TimeUnit.SECONDS)))
                    .isEqualTo(List.copyOf(real.extents(0, d.size()).join())).isNotEmpty();
            // once ready, requests go straight to the real backend
            ByteBuf again = deferred.read(len / 2, len / 2).get(10, TimeUnit.SECONDS);
            assertThat(again.readableBytes()).isEqualTo(len / 2);
            again.release();
        }
    }

    @Test
    void aFailedIndexFailsEveryRequestWithItsError() throws Exception {
        CompletableFuture<ArchiveReadBackend> later = new CompletableFuture<>();
        DeferredExportBackend deferred = new DeferredExportBackend(1 << 20, later);
        CompletableFuture<ByteBuf> before = deferred.read(0, 4096);
        later.completeExceptionally(new VmaFormatException("offset 123: archive truncated"));
        assertThatThrownBy(() -> before.get(10, TimeUnit.SECONDS)).hasRootCauseMessage("offset 123: archive truncated");
        assertThatThrownBy(() -> deferred.read(0, 4096).get(10, TimeUnit.SECONDS))
                .hasRootCauseInstanceOf(VmaFormatException.class);
        assertThatThrownBy(() -> deferred.extents(0, 4096).get(10, TimeUnit.SECONDS))
                .hasRootCauseMessage("offset 123: archive truncated");
    }
}
