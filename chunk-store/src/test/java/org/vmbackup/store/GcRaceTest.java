package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gc against a backend whose delete is check-then-delete in two steps (as on S3: HEAD, then DELETE), with a
 * backup reusing the chunk exactly between the two: the snapshot must never be published naming the deleted chunk.
 */
class GcRaceTest {
    @TempDir
    Path tmp;

    /**
     * A directory backend whose {@link #deleteIfUntouchedSince} stats, then lets {@code between} run once for
     * {@code target}, then deletes: the window S3's HEAD and DELETE leave, forced open.
     */
    static final class SplitDeleteBackend implements StoreBackend {
        final LocalBackend local;
        final Duration window;
        volatile String target;
        volatile ThrowingRunnable between;
        final AtomicBoolean fired = new AtomicBoolean();
        final CountDownLatch targetPut = new CountDownLatch(1);

        interface ThrowingRunnable {
            void run() throws Exception;
        }

        SplitDeleteBackend(Path dir, Duration window) throws IOException {
            this.local = new LocalBackend(dir);
            this.window = window;
        }

        @Override
        public long deleteIfUntouchedSince(String name, Instant cutoff) throws IOException {
            Optional<ObjectStat> st = local.stat(name);
            if (st.isEmpty() || !st.get().lastTouched().isBefore(cutoff)) {
                return -1;
            }
            if (name.equals(target) && fired.compareAndSet(false, true)) {
                try {
                    between.run();
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
            local.delete(name);
            return st.get().size();
        }

        @Override
        public Duration deleteWindow() {
            return window;
        }

        @Override
        public boolean putIfAbsent(String name, ByteBuffer data) throws IOException {
            boolean added = local.putIfAbsent(name, data);
            if (name.equals(target)) {
                targetPut.countDown();
            }
            return added;
        }

        @Override
        public boolean putIfAbsentUnsynced(String name, ByteBuffer data) throws IOException {
            boolean added = local.putIfAbsentUnsynced(name, data);
            if (name.equals(target)) {
                targetPut.countDown();
            }
            return added;
        }

        @Override
        public void sync(List<String> names) throws IOException {
            local.sync(names);
        }

        @Override
        public boolean touch(String name) throws IOException {
            return local.touch(name);
        }

        @Override
        public void publish(String name, ByteBuffer data) throws IOException {
            local.publish(name, data);
        }

        @Override
        public Optional<ByteBuffer> get(String name) throws IOException {
            return local.get(name);
        }

        @Override
        public Optional<ByteBuffer> get(String name, long offset, int length) throws IOException {
            return local.get(name, offset, length);
        }

        @Override
        public Optional<ObjectStat> stat(String name) throws IOException {
            return local.stat(name);
        }

        @Override
        public List<String> list(String prefix) throws IOException {
            return local.list(prefix);
        }

        @Override
        public void delete(String name) throws IOException {
            local.delete(name);
        }

        @Override
        public String describe() {
            return local.describe();
        }

        @Override
        public void close() {
            // the test closes the directory backend once, after every store handle on it
        }
    }

    private static void age(Path dir) throws IOException {
        FileTime old = FileTime.from(Instant.now().minus(Duration.ofHours(1)));
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Files.setLastModifiedTime(p, old);
            }
        }
    }

    /**
     * Snapshot x/0 is pruned; a backup of the same data starts; a gc deletes x/0's chunks, and the backup reuses
     * chunk 0 between the gc's check and its delete of it. Returns the backup's commit failure, or null.
     */
    private Exception raceOnce(Path dir, Duration window) throws Exception {
        int cs = StoreFixtures.SMALL_CHUNK;
        byte[] img = new byte[8 * cs];
        new Random(5).nextBytes(img);
        ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(cs)).close();
        SplitDeleteBackend b = new SplitDeleteBackend(dir, window);
        try (b.local; ChunkStore store = ChunkStore.open(dir);
                ChunkStore racy = ChunkStore.open(b, Optional.empty())) {
            SnapshotId old = StoreFixtures.id("x", 0);
            try (SnapshotWriter w = store.create(SnapshotSpec.full(old, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                w.write(0, 0, ByteBuffer.wrap(img));
                w.commit();
            }
            try (SnapshotWriter w = store.create(SnapshotSpec.full(StoreFixtures.id("x", 1), List.of(), false, Map.of()))) {
                w.commit();
            }
            assertThat(store.prune("x", new RetentionPolicy(1, 0, 0, 0), false).removed()).containsExactly(old);
            age(dir);
            SnapshotId fresh = StoreFixtures.id("y", 0);
            try (SnapshotWriter w = racy.create(SnapshotSpec.full(fresh, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                byte[] chunk0 = new byte[cs];
                System.arraycopy(img, 0, chunk0, 0, cs);
                // a store in the clear names a chunk by the SHA-256 of its plaintext
                b.target = Digests.chunkName(Digests.sha256(chunk0, 0, cs));
                b.between = () -> {
                    // the backup reuses chunk 0 (touches it) after the gc found it untouched and before it deletes it
                    w.write(0, 0, ByteBuffer.wrap(chunk0));
                    assertThat(b.targetPut.await(30, TimeUnit.SECONDS)).as("the backup reached chunk 0").isTrue();
                };
                GcResult g = racy.gc(Duration.ZERO);
                assertThat(b.fired).as("the race was forced").isTrue();
                assertThat(g.chunksRemoved()).isEqualTo(8);
                w.write(0, cs, ByteBuffer.wrap(img, cs, img.length - cs));
                try {
                    w.commit();
                } catch (StoreException e) {
                    assertThat(store.list(Optional.of("y"))).as("no snapshot is published").isEmpty();
                    return e;
                }
            }
            return null;
        }
    }

    @Test
    void aChunkReusedBetweenGcsCheckAndDeleteFailsTheBackupInsteadOfPublishingIt() throws Exception {
        Path dir = tmp.resolve("s");
        Exception e = raceOnce(dir, Duration.ofMillis(200));
        assertThat(e).as("the commit failed").isNotNull();
        assertThat(e.getMessage()).contains("snapshot y/").contains("was deleted by a gc that ran meanwhile")
                .contains("run the backup again");
        try (ChunkStore store = ChunkStore.open(dir)) {
            assertThat(store.verify(List.of()).ok()).isTrue();
        }
    }

    @Test
    void withoutTheWindowTheSameRacePublishesASnapshotNamingAMissingChunk() throws Exception {
        // the backend declares no window (as if its delete were atomic): this is the bug the check closes
        Path dir = tmp.resolve("s");
        assertThat(raceOnce(dir, Duration.ZERO)).isNull();
        try (ChunkStore store = ChunkStore.open(dir)) {
            assertThat(store.list(Optional.of("y"))).hasSize(1);
            assertThat(store.verify(List.of()).ok()).isFalse();
        }
    }

    @Test
    void whileAGcHoldsItsLockAWriterThatReusedChunksWaitsTheWindowBeforeItChecksThem() throws Exception {
        Path dir = tmp.resolve("s");
        int cs = StoreFixtures.SMALL_CHUNK;
        byte[] img = new byte[4 * cs];
        new Random(6).nextBytes(img);
        Duration window = Duration.ofMillis(1500);
        ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(cs)).close();
        SplitDeleteBackend b = new SplitDeleteBackend(dir, window);
        try (b.local; ChunkStore store = ChunkStore.open(b, Optional.empty())) {
            try (SnapshotWriter w = store.create(SnapshotSpec.full(StoreFixtures.id("x", 0), List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                w.write(0, 0, ByteBuffer.wrap(img));
                long t0 = System.nanoTime();
                w.commit();
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("nothing reused: no wait").isLessThan(window);
            }
            // a gc is running (its lock exists) while the next backup reuses every chunk
            b.publish(Markers.GC_LOCK, ByteBuffer.wrap("{}".getBytes(StandardCharsets.UTF_8)));
            try (SnapshotWriter w = store.create(SnapshotSpec.full(StoreFixtures.id("x", 1), List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                long beforeReuse = System.nanoTime();
                w.write(0, 0, ByteBuffer.wrap(img));
                w.commit();
                assertThat(Duration.ofNanos(System.nanoTime() - beforeReuse)).isGreaterThanOrEqualTo(window);
            }
            assertThat(store.verify(List.of()).ok()).isTrue();
        }
    }
}
