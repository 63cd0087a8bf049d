package org.vmbackup.store.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.DiskSpec;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.SnapshotSpec;
import org.vmbackup.store.SnapshotWriter;
import org.vmbackup.store.StoreOptions;
import org.vmbackup.testkit.S3ProxyServer;

/** The S3 server killed in the middle of a backup and started again: the backup completes through retries. */
class S3ServerRestartTest {
    private static final int CHUNK = StoreOptions.MIN_CHUNK_SIZE;
    @TempDir
    Path tmp;

    @Test
    void aBackupOutlivesTheServersRestartAndTheSnapshotIsBitExact() throws Exception {
        SnapshotId id = new SnapshotId("vm", Instant.parse("2026-12-07T02:00:00Z"));
        byte[] img = Images.image(new Random(21), 40 * CHUNK);
        try (S3ProxyServer server = S3ProxyServer.start(tmp, "restart")) {
            // enough attempts for a JVM restart on a loaded machine: backoff grows to 10 s per attempt
            S3Options o = TestServers.options(server).withRetries(20, Duration.ofSeconds(20));
            CountDownLatch halfWritten = new CountDownLatch(1);
            CountDownLatch restarted = new CountDownLatch(1);
            try (ChunkStore s = ChunkStore.init(S3Backend.open(S3Location.parse("s3://restart/p"), o),
                    StoreOptions.defaults().withChunkSize(CHUNK))) {
                CompletableFuture<SnapshotInfo> backup = CompletableFuture.supplyAsync(() -> {
                    try (SnapshotWriter w = s.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", img.length)),
                            false, Map.of()))) {
                        for (int off = 0; off < img.length; off += CHUNK) {
                            if (off == img.length / 2) {
                                halfWritten.countDown();
                                // the second half is written while the server is down or coming back
                                assertThat(restarted.await(120, TimeUnit.SECONDS)).isTrue();
                            }
                            w.write(0, off, ByteBuffer.wrap(img, off, CHUNK));
                        }
                        return w.commit();
                    } catch (Exception e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                });
                assertThat(halfWritten.await(60, TimeUnit.SECONDS)).isTrue();
                server.kill();
                restarted.countDown(); // writes and uploads now meet a dead server
                Thread.sleep(500);
                server.startProcess();
                SnapshotInfo info = backup.get(180, TimeUnit.SECONDS);
                assertThat(info.id()).isEqualTo(id);
                assertThat(Images.read(s, id)).isEqualTo(img);
                assertThat(s.verify(List.of()).ok()).isTrue();
                assertThat(s.list(Optional.empty())).extracting(SnapshotInfo::id).containsExactly(id);
            }
        }
    }
}
