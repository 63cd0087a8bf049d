package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Property-style round trips: random sizes, alignments, chunk boundaries, holes, orders and threads. */
class RoundTripTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void randomSnapshotsReadBackExactly(boolean encrypted) throws Exception {
        StoreOptions o = StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK);
        if (encrypted) {
            o = o.withKey(StoreKey.create(tmp.resolve("key")));
        }
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), o)) {
            for (int seed = 1; seed <= 12; seed++) {
                Random r = new Random(seed);
                int cs = StoreFixtures.SMALL_CHUNK;
                int[] special = {0, 1, cs - 1, cs, cs + 1, 3 * cs, 3 * cs + 17};
                List<byte[]> images = new ArrayList<>();
                List<DiskSpec> specs = new ArrayList<>();
                int disks = 1 + r.nextInt(3);
                for (int d = 0; d < disks; d++) {
                    int size = r.nextBoolean() ? special[r.nextInt(special.length)] : r.nextInt(1_500_000);
                    images.add(StoreFixtures.image(r, size));
                    specs.add(DiskSpec.full("drive-" + d, size));
                }
                byte[] vmstate = StoreFixtures.image(r, r.nextInt(3) == 0 ? 0 : r.nextInt(400_000));
                Map<String, byte[]> configs = new LinkedHashMap<>();
                configs.put("qemu-server.conf", ("name: vm" + seed + "\n").getBytes());
                configs.put("empty.conf", new byte[0]);
                SnapshotId id = StoreFixtures.id("vm" + seed, seed);
                try (SnapshotWriter w = store.create(SnapshotSpec.full(id, specs, true, configs))) {
                    StoreFixtures.writeAll(w, images, r, 1 + r.nextInt(4));
                    try (WritableByteChannel ch = w.vmstateChannel()) {
                        int pos = 0;
                        while (pos < vmstate.length) {
                            int n = Math.min(vmstate.length - pos, 1 + r.nextInt(100_000));
                            ch.write(ByteBuffer.wrap(vmstate, pos, n));
                            pos += n;
                        }
                    }
                    SnapshotInfo info = w.commit();
                    assertThat(info.id()).isEqualTo(id);
                    assertThat(info.vmstateSize()).hasValue(vmstate.length);
                }
                try (SnapshotReader reader = store.open(id)) {
                    assertThat(reader.info().disks()).extracting(DiskInfo::size)
                            .containsExactlyElementsOf(images.stream().map(b -> (long) b.length).toList());
                    for (int d = 0; d < disks; d++) {
                        assertThat(StoreFixtures.readAll(reader, d, r)).as("seed %d disk %d", seed, d).isEqualTo(images.get(d));
                        assertThat(visit(reader, d, images.get(d).length)).isEqualTo(images.get(d));
                        checkBlockStatus(reader, d, images.get(d), r);
                    }
                    assertThat(StoreFixtures.readStream(reader.vmstate())).isEqualTo(vmstate);
                    assertThat(reader.config("qemu-server.conf")).isEqualTo(configs.get("qemu-server.conf"));
                    assertThat(reader.config("empty.conf")).isEmpty();
                }
            }
            assertThat(store.list(Optional.empty())).hasSize(12);
            assertThat(store.verify(List.of()).ok()).isTrue();
        }
    }

    private static byte[] visit(SnapshotReader reader, int disk, int size) throws Exception {
        byte[] out = new byte[size];
        long[] last = {-1};
        reader.visitData(disk, (offset, data) -> {
            assertThat(offset).isGreaterThan(last[0]);
            last[0] = offset;
            data.get(out, (int) offset, data.remaining());
        });
        return out;
    }

    private static void checkBlockStatus(SnapshotReader reader, int disk, byte[] image, Random r) {
        long pos = 0;
        while (pos < image.length) {
            Extent e = reader.blockStatus(disk, pos, 1 + r.nextInt(3 * StoreFixtures.SMALL_CHUNK));
            assertThat(e.offset()).isEqualTo(pos);
            assertThat(pos + e.length()).isLessThanOrEqualTo(image.length);
            if (e.hole()) {
                assertThat(StoreFixtures.allZero(image, (int) pos, (int) e.length())).isTrue();
            }
            pos += e.length();
        }
    }

    @Test
    void identicalDisksAddNothingTheSecondTime() throws Exception {
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            Random r = new Random(7);
            byte[] img = StoreFixtures.image(r, 2_000_000);
            long[] news = new long[2];
            for (int i = 0; i < 2; i++) {
                SnapshotId id = StoreFixtures.id(i == 0 ? "a" : "b", i);
                try (SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                    StoreFixtures.writeAll(w, List.of(img), r, 2);
                    news[i] = w.commit().bytesNew();
                }
            }
            assertThat(news[0]).isPositive();
            assertThat(news[1]).isZero();
        }
    }

    @Test
    void inPlaceWritesLandInChunkBuffers() throws Exception {
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            Random r = new Random(3);
            byte[] img = StoreFixtures.image(r, 700_001);
            SnapshotId id = StoreFixtures.id("v", 0);
            int inPlace = 0;
            try (SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                for (StoreFixtures.Piece p : StoreFixtures.pieces(r, img)) {
                    SnapshotWriter.InPlaceWrite room = w.tryReserve(0, p.offset(), p.length());
                    if (room == null) {
                        w.write(0, p.offset(), ByteBuffer.wrap(img, (int) p.offset(), p.length()));
                        continue;
                    }
                    int pos = (int) p.offset();
                    for (ByteBuffer b : room.buffers()) {
                        int n = b.remaining();
                        b.put(img, pos, n);
                        pos += n;
                    }
                    assertThat(pos).isEqualTo(p.offset() + p.length());
                    room.commit();
                    inPlace++;
                }
                w.commit();
            }
            assertThat(inPlace).isPositive();
            try (SnapshotReader reader = store.open(id)) {
                assertThat(StoreFixtures.readAll(reader, 0, r)).isEqualTo(img);
            }
        }
    }

    @Test
    void anAbandonedInPlaceWriteFailsTheCommitAndLeavesNothingVisible() throws Exception {
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            SnapshotId id = StoreFixtures.id("v", 0);
            SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", 100_000)), false, Map.of()));
            w.tryReserve(0, 10, 100).abandon();
            assertThatThrownBy(w::commit).hasMessageContaining("abandoned");
            w.abort();
            assertThat(store.list(Optional.empty())).isEmpty();
        }
    }

    @Test
    void anAbortFromAnotherThreadWhileTheManifestIsPublishedNeverLeavesAListedSnapshotWithoutItsIndexes() throws Exception {
        Path dir = tmp.resolve("s");
        java.nio.file.Files.createDirectories(dir);
        LocalBackend local = new LocalBackend(dir);
        java.util.concurrent.CountDownLatch publishing = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch aborted = new java.util.concurrent.CountDownLatch(1);
        StoreBackend b = (StoreBackend) java.lang.reflect.Proxy.newProxyInstance(StoreBackend.class.getClassLoader(),
                new Class<?>[] {StoreBackend.class}, (proxy, m, args) -> {
                    if (m.getName().equals("publish") && ((String) args[0]).endsWith("/manifest")) {
                        publishing.countDown();
                        aborted.await(2, java.util.concurrent.TimeUnit.SECONDS); // the abort runs now, or waits
                    }
                    try {
                        return m.invoke(local, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        byte[] img = StoreFixtures.image(new Random(3), 300_000);
        try (ChunkStore store = ChunkStore.init(b, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            SnapshotId id = StoreFixtures.id("v", 0);
            SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", img.length)), false, Map.of()));
            w.write(0, 0, ByteBuffer.wrap(img));
            Thread aborter = new Thread(() -> {
                try {
                    publishing.await();
                } catch (InterruptedException e) {
                    return;
                }
                w.abort(); // a backup cancelled (or a stuck job's undo) on another thread
                aborted.countDown();
            });
            aborter.start();
            try {
                w.commit();
            } catch (java.io.IOException e) {
                // refused because of the abort: fine, as long as nothing is listed
            }
            aborter.join(10_000);
            List<SnapshotInfo> listed = store.list(Optional.empty());
            if (!listed.isEmpty()) {
                assertThat(store.verify(List.of()).ok()).as("a listed snapshot verifies").isTrue();
                try (SnapshotReader r = store.open(id)) {
                    assertThat(StoreFixtures.readAll(r, 0, new Random(4))).isEqualTo(img);
                }
            }
        }
    }

    @Test
    void writesOutsideTheDiskOrIntoACompleteChunkAreRefused() throws Exception {
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            SnapshotId id = StoreFixtures.id("v", 0);
            try (SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", 100_000)), false, Map.of()))) {
                assertThatThrownBy(() -> w.write(0, 99_999, ByteBuffer.allocate(2)))
                        .isInstanceOf(StoreException.class).hasMessageContaining("outside its 100000 bytes");
                assertThatThrownBy(() -> w.write(1, 0, ByteBuffer.allocate(2))).hasMessageContaining("no disk number 1");
                w.write(0, 0, ByteBuffer.allocate(StoreFixtures.SMALL_CHUNK));
                assertThatThrownBy(() -> w.write(0, 5, ByteBuffer.allocate(2))).hasMessageContaining("complete and stored");
                assertThatThrownBy(() -> store.create(SnapshotSpec.full(id, List.of(), false, Map.of())))
                        .hasMessageContaining("is being written already");
            }
            assertThat(store.list(Optional.empty())).isEmpty();
        }
    }

    @Test
    void keyedDigestsHideEqualPlaintextAndChunksAreEncrypted() throws Exception {
        byte[] img = new byte[3 * StoreFixtures.SMALL_CHUNK];
        java.util.Arrays.fill(img, (byte) 'a');
        List<java.util.Set<String>> names = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            StoreOptions o = StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK);
            if (i > 0) {
                o = o.withKey(StoreKey.create(tmp.resolve("key" + i)));
            }
            Path dir = tmp.resolve("s" + i);
            try (ChunkStore store = ChunkStore.init(dir, o);
                    SnapshotWriter w = store.create(SnapshotSpec.full(StoreFixtures.id("v", 0),
                            List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                w.write(0, 0, ByteBuffer.wrap(img));
                w.commit();
            }
            try (var files = java.nio.file.Files.walk(dir.resolve("chunks"))) {
                var set = new java.util.TreeSet<String>();
                for (Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
                    set.add(f.getFileName().toString());
                    if (i > 0) {
                        // no run of the plaintext survives in an encrypted chunk (zstd alone would keep literals)
                        String content = new String(java.nio.file.Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1);
                        assertThat(content).doesNotContain("aaaaaaaa");
                    }
                }
                names.add(set);
            }
        }
        // one distinct chunk each; the plain name is SHA-256 of the plaintext, the keyed ones differ per key
        String sha = Digests.hex(Digests.sha256(img, 0, StoreFixtures.SMALL_CHUNK));
        assertThat(names.get(0)).containsExactly(sha);
        assertThat(names.get(1)).hasSize(1).doesNotContain(sha);
        assertThat(names.get(2)).hasSize(1).doesNotContain(sha).doesNotContainAnyElementsOf(names.get(1));
    }

    @Test
    void severalThreadsReadOneSnapshotAtOnce() throws Exception {
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            Random r = new Random(4);
            byte[] img = StoreFixtures.image(r, 3_000_000);
            SnapshotId id = StoreFixtures.id("v", 0);
            try (SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                StoreFixtures.writeAll(w, List.of(img), r, 3);
                w.commit();
            }
            try (SnapshotReader reader = store.open(id)) {
                var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
                try {
                    List<java.util.concurrent.Future<?>> fs = new ArrayList<>();
                    for (int t = 0; t < 4; t++) {
                        int seed = t;
                        fs.add(pool.submit(() -> {
                            Random rr = new Random(seed);
                            for (int k = 0; k < 200; k++) {
                                int off = rr.nextInt(img.length);
                                int len = 1 + rr.nextInt(Math.min(img.length - off, 200_000));
                                ByteBuffer b = ByteBuffer.allocate(len);
                                assertThat(reader.read(0, off, b)).isEqualTo(len);
                                assertThat(b.array()).isEqualTo(java.util.Arrays.copyOfRange(img, off, off + len));
                            }
                            return null;
                        }));
                    }
                    for (var f : fs) {
                        f.get(60, java.util.concurrent.TimeUnit.SECONDS);
                    }
                } finally {
                    pool.shutdownNow();
                }
            }
        }
    }
    /** A backend whose manifest publish stores the object (or not) and then fails, as a PUT whose answer was lost. */
    private static StoreBackend failingManifestPublish(LocalBackend local, boolean storeFirst) {
        return (StoreBackend) java.lang.reflect.Proxy.newProxyInstance(StoreBackend.class.getClassLoader(),
                new Class<?>[] {StoreBackend.class}, (proxy, m, args) -> {
                    if (m.getName().equals("publish") && ((String) args[0]).endsWith("/" + Manifest.NAME)) {
                        if (storeFirst) {
                            local.publish((String) args[0], (java.nio.ByteBuffer) args[1]);
                        }
                        throw new java.io.IOException("connection reset");
                    }
                    try {
                        return m.invoke(local, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void aManifestStoredDespiteAFailedPublishCommitsAndOneNotStoredLeavesNothing() throws Exception {
        Path dir = tmp.resolve("lost-answer");
        ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK)).close();
        byte[] img = StoreFixtures.image(new Random(12), 300_000);
        for (boolean stored : new boolean[] {true, false}) {
            SnapshotId id = StoreFixtures.id(stored ? "kept" : "gone", 0);
            try (ChunkStore s = ChunkStore.open(failingManifestPublish(new LocalBackend(dir), stored), Optional.empty());
                    SnapshotWriter w = s.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", img.length)), false,
                            java.util.Map.of()))) {
                StoreFixtures.writeAll(w, List.of(img), new Random(1), 2);
                if (stored) {
                    assertThat(w.commit().id()).isEqualTo(id);
                } else {
                    assertThatThrownBy(w::commit).hasMessageContaining("connection reset");
                }
            }
            try (ChunkStore s = ChunkStore.open(dir, Optional.empty())) {
                if (stored) {
                    assertThat(s.list(Optional.of("kept"))).extracting(SnapshotInfo::id).containsExactly(id);
                    assertThat(s.verify(List.of(id)).ok()).isTrue();
                } else {
                    assertThat(s.list(Optional.of("gone"))).isEmpty();
                    assertThat(dir.resolve(Manifest.dir(id))).doesNotExist();
                }
            }
        }
    }
}
