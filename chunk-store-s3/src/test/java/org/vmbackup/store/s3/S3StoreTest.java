package org.vmbackup.store.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.S3ProxyServer;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.CorruptDataException;
import org.vmbackup.store.DiskSpec;
import org.vmbackup.store.GcResult;
import org.vmbackup.store.RetentionPolicy;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.SnapshotReader;
import org.vmbackup.store.SnapshotSpec;
import org.vmbackup.store.SnapshotWriter;
import org.vmbackup.store.StoreOptions;
import org.vmbackup.store.VerifyReport;

/** The chunk store's behaviour on S3 (S3Proxy): round trip, dedup, verify, prune, gc, damage named. */
class S3StoreTest {
    private static final int CHUNK = StoreOptions.MIN_CHUNK_SIZE;
    @TempDir
    static Path tmp;
    private static S3ProxyServer server;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(tmp, "store");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static SnapshotId id(String vm, int minute) {
        return new SnapshotId(vm, Instant.parse("2026-12-07T00:00:00Z").plusSeconds(60L * minute));
    }

    private static ChunkStore init(String prefix) throws Exception {
        return ChunkStore.init(S3Backend.open(S3Location.parse("s3://store/" + prefix), TestServers.options(server)),
                StoreOptions.defaults().withChunkSize(CHUNK));
    }

    private static int chunks(ChunkStore s, String prefix) throws Exception {
        try (S3Backend b = S3Backend.open(S3Location.parse("s3://store/" + prefix), TestServers.options(server))) {
            return b.list("chunks/").size();
        }
    }

    /**
     * A disk whose index is larger than a reader's page cache and than one read of its checking pass (20 GiB at
     * 64 KiB chunks: a 10 MiB index): streamed up in one PUT, checked in 4 MiB ranged GETs, its far pages fetched
     * again by 64 KiB ranged GETs when read, verified, and touched page by page as an incremental's parent.
     */
    @Test
    void aDiskWhoseIndexIsLargerThanThePageCacheRoundTripsIncrementally() throws Exception {
        long size = 20L << 30;
        long[] at = {0, (9L << 30) + 3 * CHUNK, size - CHUNK};
        Random r = new Random(4);
        byte[][] data = new byte[at.length + 1][CHUNK];
        for (byte[] d : data) {
            r.nextBytes(d);
        }
        try (ChunkStore s = init("bigidx")) {
            try (SnapshotWriter w = s.create(SnapshotSpec.full(id("big", 0), List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                long pos = 0;
                for (int k = 0; k < at.length; k++) {
                    w.writeZeroes(0, pos, at[k] - pos);
                    w.write(0, at[k], ByteBuffer.wrap(data[k]));
                    pos = at[k] + CHUNK;
                }
                w.commit();
            }
            long changed = 15L << 30;
            try (SnapshotWriter w = s.create(new SnapshotSpec(id("big", 1), List.of(new DiskSpec("d", size, true)), false,
                    Map.of(), Optional.of(id("big", 0))))) {
                w.write(0, changed, ByteBuffer.wrap(data[at.length]));
                w.commit();
            }
            try (SnapshotReader rd = s.open(id("big", 1))) {
                for (int k = at.length; k >= 0; k--) { // the far pages first: not among those kept from the check
                    ByteBuffer b = ByteBuffer.allocate(CHUNK);
                    rd.read(0, k == at.length ? changed : at[k], b);
                    assertThat(b.array()).as("chunk %d", k).isEqualTo(data[k]);
                }
                assertThat(rd.blockStatus(0, CHUNK, size).length()).isEqualTo((9L << 30) + 2 * CHUNK);
            }
            VerifyReport v = s.verify(List.of());
            assertThat(v.ok()).isTrue();
            assertThat(v.chunksChecked()).as("distinct chunks").isEqualTo(at.length + 1L);
        }
    }

    @Test
    void roundTripIsBitExactAndASecondEqualBackupUploadsNothingNew() throws Exception {
        byte[] img = Images.image(new Random(1), 40 * CHUNK + 4321);
        try (ChunkStore s = init("rt")) {
            SnapshotInfo a = Images.write(s, id("web1", 0), img);
            assertThat(a.bytesNew()).isPositive();
            int stored = chunks(s, "rt");
            assertThat(stored).isPositive();
            SnapshotInfo b = Images.write(s, id("web1", 1), img);
            assertThat(b.bytesNew()).as("dedup: nothing new").isZero();
            assertThat(chunks(s, "rt")).isEqualTo(stored);
        }
        // opened anew, as another process would
        try (ChunkStore s = ChunkStore.open(S3Backend.open(S3Location.parse("s3://store/rt"), TestServers.options(server)), Optional.empty())) {
            assertThat(s.list(Optional.empty())).extracting(SnapshotInfo::id).containsExactly(id("web1", 0), id("web1", 1));
            assertThat(Images.read(s, id("web1", 0))).isEqualTo(img);
            assertThat(Images.read(s, id("web1", 1))).isEqualTo(img);
            VerifyReport v = s.verify(List.of());
            assertThat(v.ok()).isTrue();
            assertThat(v.snapshots()).hasSize(2);
            assertThat(v.chunksChecked()).isPositive();
        }
    }

    @Test
    void pruneThenGcRemovesWhatNoSnapshotNeedsAndTheRestStillVerifies() throws Exception {
        Random r = new Random(2);
        byte[] a = Images.image(r, 20 * CHUNK);
        byte[] b = Images.image(r, 20 * CHUNK);
        try (ChunkStore s = init("gc")) {
            Images.write(s, id("vm", 0), a);
            int afterA = chunks(s, "gc");
            Images.write(s, id("vm", 1), b);
            int before = chunks(s, "gc");
            assertThat(s.prune("vm", new RetentionPolicy(1, 0, 0, 0), false).removed()).containsExactly(id("vm", 0));
            Thread.sleep(2100); // Last-Modified has whole seconds; the gc's cutoff is a second early
            GcResult g = s.gc(Duration.ZERO);
            assertThat(g.chunksRemoved()).isPositive().isLessThanOrEqualTo(afterA);
            assertThat(chunks(s, "gc")).isEqualTo(before - g.chunksRemoved()).isEqualTo(g.chunksInUse());
            assertThat(s.verify(List.of()).ok()).isTrue();
            assertThat(Images.read(s, id("vm", 1))).isEqualTo(b);
            assertThat(s.list(Optional.empty())).extracting(SnapshotInfo::id).containsExactly(id("vm", 1));
        }
    }

    @Test
    void aDamagedChunkOnTheServerIsNamedOnReadAndByVerifyNeverWrongData() throws Exception {
        byte[] img = Images.image(new Random(3), 8 * CHUNK);
        try (ChunkStore s = init("bad")) {
            Images.write(s, id("vm", 0), img);
            String victim;
            try (S3Backend raw = S3Backend.open(S3Location.parse("s3://store/bad"), TestServers.options(server))) {
                victim = raw.list("chunks/").get(0);
                ByteBuffer obj = raw.get(victim).orElseThrow();
                obj.put(obj.limit() - 1, (byte) (obj.get(obj.limit() - 1) ^ 0x40));
                raw.publish(victim, obj);
            }
            String hex = victim.substring(victim.lastIndexOf('/') + 1);
            assertThatThrownBy(() -> Images.read(s, id("vm", 0)))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("chunk " + hex);
            VerifyReport v = s.verify(List.of());
            assertThat(v.ok()).isFalse();
            assertThat(v.damage()).hasSize(1);
            assertThat(v.damage().get(0).toString()).contains(hex);
        }
    }
}
