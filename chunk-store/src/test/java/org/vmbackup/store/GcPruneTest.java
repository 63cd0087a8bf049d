package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** prune's retention rules, and gc: what it removes, what it spares while a backup runs, its lock. */
class GcPruneTest {
    @TempDir
    Path tmp;

    /** Makes every object an hour old, as if the store had been written long before the gc. */
    private static void age(Path dir) throws IOException {
        FileTime old = FileTime.from(Instant.now().minus(Duration.ofHours(1)));
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                Files.setLastModifiedTime(p, old);
            }
        }
    }

    private static long chunkFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir.resolve("chunks"))) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    private static SnapshotInfo write(ChunkStore store, SnapshotId id, byte[] img) throws Exception {
        try (SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
            StoreFixtures.writeAll(w, List.of(img), new Random(id.hashCode()), 2);
            return w.commit();
        }
    }

    @Test
    void pruneThenGcRemovesExactlyTheChunksNoSnapshotNeeds() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            Random r = new Random(1);
            byte[] a = StoreFixtures.image(r, 1_000_000);
            byte[] b = StoreFixtures.image(r, 1_000_000);
            write(store, StoreFixtures.id("x", 0), a);
            long afterA = chunkFiles(dir);
            write(store, StoreFixtures.id("x", 1), b);
            age(dir);
            PruneResult dry = store.prune("x", new RetentionPolicy(1, 0, 0, 0), true);
            assertThat(dry.removed()).containsExactly(StoreFixtures.id("x", 0));
            assertThat(store.list(Optional.of("x"))).hasSize(2);
            PruneResult p = store.prune("x", new RetentionPolicy(1, 0, 0, 0), false);
            assertThat(p.kept()).containsExactly(StoreFixtures.id("x", 1));
            assertThat(store.list(Optional.of("x"))).extracting(SnapshotInfo::id).containsExactly(StoreFixtures.id("x", 1));
            long before = chunkFiles(dir);
            GcResult g = store.gc(Duration.ZERO);
            assertThat(g.chunksRemoved()).isPositive().isLessThanOrEqualTo(afterA);
            assertThat(chunkFiles(dir)).isEqualTo(before - g.chunksRemoved()).isEqualTo(g.chunksInUse());
            assertThat(store.verify(List.of()).ok()).isTrue();
            try (SnapshotReader reader = store.open(StoreFixtures.id("x", 1))) {
                assertThat(StoreFixtures.readAll(reader, 0, r)).isEqualTo(b);
            }
            assertThat(Files.exists(dir.resolve("locks/gc"))).isFalse();
        }
    }

    @Test
    void gcWhileABackupRunsNeverRemovesWhatTheBackupWroteOrReuses() throws Exception {
        Path dir = tmp.resolve("s");
        int cs = StoreFixtures.SMALL_CHUNK;
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(cs))) {
            Random r = new Random(2);
            byte[] img = StoreFixtures.image(r, 30 * cs);
            new Random(9).nextBytes(img); // all chunks distinct and non-zero
            SnapshotId old = StoreFixtures.id("x", 0);
            write(store, old, img);
            age(dir);
            SnapshotId fresh = StoreFixtures.id("y", 0);
            try (SnapshotWriter w = store.create(SnapshotSpec.full(fresh, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                // the first half reuses the old snapshot's chunks (touched, not stored again)
                w.write(0, 0, ByteBuffer.wrap(img, 0, 15 * cs));
                // meanwhile x's old snapshot is pruned, and a gc from another handle deletes its chunks that the
                // running backup did not touch, and spares those it did
                write(store, StoreFixtures.id("x", 1), new byte[0]);
                try (ChunkStore other = ChunkStore.open(dir, Optional.empty())) {
                    assertThat(other.prune("x", new RetentionPolicy(1, 0, 0, 0), false).removed()).containsExactly(old);
                    GcResult g = other.gc(Duration.ZERO);
                    assertThat(g.chunksRemoved()).isGreaterThanOrEqualTo(14);
                    assertThat(g.chunksSpared()).isGreaterThanOrEqualTo(14);
                }
                w.write(0, 15 * cs, ByteBuffer.wrap(img, 15 * cs, 15 * cs));
                w.commit();
            }
            try (SnapshotReader reader = store.open(fresh)) {
                assertThat(StoreFixtures.readAll(reader, 0, r)).isEqualTo(img);
            }
            assertThat(store.verify(List.of()).ok()).isTrue();
        }
    }

    @Test
    void aSecondGcFailsNamingTheFirstAndAStaleLockIsTakenOver() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults())) {
            LocalBackend b = new LocalBackend(dir);
            b.putIfAbsent("locks/gc", Markers.content("gc", Instant.now()));
            assertThatThrownBy(store::gc).isInstanceOf(StoreException.class)
                    .hasMessageStartingWith("store " + dir + ": another gc is running (host " + Markers.host() + ", pid "
                            + ProcessHandle.current().pid() + ", started ")
                    .hasMessageEndingWith("if that process is gone, remove locks/gc from the store");
            assertThat(Files.exists(dir.resolve("locks/gc"))).isTrue();
            // a lock left by a process that is gone (killed mid-gc)
            Process p = new ProcessBuilder("true").start();
            assertThat(p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            String stale = Files.readString(dir.resolve("locks/gc"))
                    .replace("\"pid\":" + ProcessHandle.current().pid(), "\"pid\":" + p.pid());
            Files.writeString(dir.resolve("locks/gc"), stale);
            assertThat(store.gc().chunksRemoved()).isZero();
            assertThat(Files.exists(dir.resolve("locks/gc"))).isFalse();
        }
    }

    @Test
    void theLockOrAWriterMarkerOfAnotherHostIsNeverReplacedWhateverItsLength() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults())) {
            // a gc running on another host: its marker is longer than this host's would be
            String other = "{\"id\":\"gc\",\"host\":\"another-host-with-a-long-name.example.com\",\"pid\":1,"
                    + "\"start\":\"" + Instant.now() + "\"}";
            Files.createDirectories(dir.resolve("locks"));
            Files.writeString(dir.resolve("locks/gc"), other);
            assertThatThrownBy(store::gc).isInstanceOf(StoreException.class)
                    .hasMessageContaining("another gc is running (host another-host-with-a-long-name.example.com, pid 1");
            assertThat(Files.readString(dir.resolve("locks/gc"))).isEqualTo(other);
            Files.delete(dir.resolve("locks/gc"));
            // a backup of the same id running on another host
            SnapshotId id = StoreFixtures.id("x", 0);
            String marker = "{\"id\":\"" + id + "\",\"host\":\"another-host-with-a-long-name.example.com\","
                    + "\"pid\":1,\"start\":\"" + Instant.now() + "\"}";
            Path m = dir.resolve("writers/" + id.vm() + "_" + id.instantText());
            Files.createDirectories(m.getParent());
            Files.writeString(m, marker);
            assertThatThrownBy(() -> store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", 1000)), false, Map.of())))
                    .hasMessageContaining("is being written already");
            assertThat(Files.readString(m)).isEqualTo(marker);
        }
    }

    /**
     * A store shared by machines that carry one host name (cloned VMs, containers given a fixed name): a marker of
     * the other machine names this host and a pid that runs nowhere here. Judged by host name and pid alone, it
     * looked dead: gc removed the running backup's marker (its reused chunks no longer held back the cutoff) and
     * took over the running gc's lock (two gcs at once).
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void markersOfAnotherMachineWithThisHostsNameAreNeverTakenForDeadProcesses() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults())) {
            Process p = new ProcessBuilder("true").start();
            assertThat(p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue(); // its pid runs nowhere here
            String other = "\"host\":\"" + Markers.host() + "\",\"machine\":\"00000000-another-boot:1\",\"pid\":"
                    + p.pid() + ",\"start\":\"" + Instant.now() + "\"}";
            SnapshotId id = StoreFixtures.id("x", 0);
            String marker = "{\"id\":\"" + id + "\"," + other;
            Path m = dir.resolve("writers/" + id.vm() + "_" + id.instantText());
            Files.createDirectories(m.getParent());
            Files.writeString(m, marker);
            store.gc();
            assertThat(m).as("the marker of a backup running on the other machine").exists();
            assertThat(Files.readString(m)).isEqualTo(marker);
            Files.createDirectories(dir.resolve("locks"));
            Files.writeString(dir.resolve("locks/gc"), "{\"id\":\"gc\"," + other);
            assertThatThrownBy(store::gc).isInstanceOf(StoreException.class)
                    .hasMessageContaining("another gc is running (host " + Markers.host() + ", pid " + p.pid());
            assertThat(Files.readString(dir.resolve("locks/gc"))).isEqualTo("{\"id\":\"gc\"," + other);
        }
    }

    @Test
    void aGcThatFindsTheLockGoneNeverDeletesTheLockAnotherGcTookMeanwhile() throws Exception {
        Path dir = tmp.resolve("s");
        ChunkStore.init(dir, StoreOptions.defaults()).close();
        LocalBackend local = new LocalBackend(dir);
        String lockOf = "{\"id\":\"gc\",\"host\":\"HOST\",\"pid\":1,\"start\":\"" + Instant.now() + "\"}";
        Files.createDirectories(dir.resolve("locks"));
        Files.writeString(dir.resolve("locks/gc"), lockOf.replace("HOST", "host-b"));
        // gc B ends just after this gc's putIfAbsent failed (its read finds no lock); gc C takes the lock right after
        java.util.concurrent.atomic.AtomicInteger step = new java.util.concurrent.atomic.AtomicInteger();
        StoreBackend racing = (StoreBackend) java.lang.reflect.Proxy.newProxyInstance(StoreBackend.class.getClassLoader(),
                new Class<?>[] {StoreBackend.class}, (proxy, m, args) -> {
                    if (step.get() == 1) {
                        step.set(2);
                        Files.writeString(dir.resolve("locks/gc"), lockOf.replace("HOST", "host-c"));
                    }
                    if (m.getName().equals("get") && args.length == 1 && args[0].equals("locks/gc") && step.get() == 0) {
                        step.set(1);
                        Files.delete(dir.resolve("locks/gc"));
                    }
                    try {
                        return m.invoke(local, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        try (ChunkStore store = ChunkStore.open(racing, Optional.empty())) {
            assertThatThrownBy(store::gc).isInstanceOf(StoreException.class)
                    .hasMessageContaining("another gc is running (host host-c, pid 1");
        }
        assertThat(Files.readString(dir.resolve("locks/gc"))).contains("host-c");
    }

    @Test
    void retentionKeepsTheNewestPerRuleAndPeriod() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults())) {
            String[] times = {"2026-09-30T10:00:00Z", "2026-10-15T10:00:00Z", "2026-10-31T23:00:00Z",
                "2026-11-29T08:00:00Z", "2026-11-30T08:00:00Z", "2026-12-01T08:00:00Z", "2026-12-01T20:00:00Z",
                "2026-12-02T08:00:00Z", "2026-12-03T08:00:00Z"};
            for (String t : times) {
                try (SnapshotWriter w = store.create(SnapshotSpec.full(new SnapshotId("v", Instant.parse(t)), List.of(), false, Map.of()))) {
                    w.commit();
                }
            }
            // keep-last 2: 12-03, 12-02; keep-daily 3: 12-03, 12-02, 12-01T20; keep-weekly 2: the newest of ISO
            // week 49 (12-03) and week 48 (11-29 is a Sunday: week 48; 11-30 is a Monday: week 49) -> 11-29;
            // keep-monthly 3: 12-03, 11-30, 10-31
            PruneResult p = store.prune("v", new RetentionPolicy(2, 3, 2, 3), false);
            assertThat(p.kept()).extracting(id -> id.instantText()).containsExactly("2026-12-03T08:00:00Z",
                    "2026-12-02T08:00:00Z", "2026-12-01T20:00:00Z", "2026-11-30T08:00:00Z", "2026-11-29T08:00:00Z",
                    "2026-10-31T23:00:00Z");
            assertThat(p.removed()).extracting(id -> id.instantText()).containsExactly("2026-12-01T08:00:00Z",
                    "2026-10-15T10:00:00Z", "2026-09-30T10:00:00Z");
            assertThat(store.list(Optional.of("v"))).hasSize(6);
            assertThatThrownBy(() -> new RetentionPolicy(0, 0, 0, 0)).hasMessageContaining("must keep at least one");
        }
    }

    @Test
    void gcRunningAgainAndAgainBesideAWriterThatReusesPrunedChunksLosesNothing() throws Exception {
        Path dir = tmp.resolve("s");
        int cs = StoreFixtures.SMALL_CHUNK;
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(cs))) {
            for (int round = 0; round < 3; round++) {
                Random r = new Random(round);
                byte[] img = new byte[40 * cs];
                r.nextBytes(img);
                SnapshotId old = StoreFixtures.id("x", 2 * round);
                write(store, old, img);
                write(store, StoreFixtures.id("x", 2 * round + 1), new byte[0]);
                store.prune("x", new RetentionPolicy(1, 0, 0, 0), false);
                age(dir); // the pruned snapshot's chunks are old and unreferenced: gc candidates
                SnapshotId fresh = StoreFixtures.id("y", round);
                java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
                java.util.concurrent.atomic.AtomicLong removed = new java.util.concurrent.atomic.AtomicLong();
                Thread gc = new Thread(() -> {
                    try (ChunkStore other = ChunkStore.open(dir, Optional.empty())) {
                        while (writing.get()) {
                            removed.addAndGet(other.gc(Duration.ZERO).chunksRemoved());
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                gc.start();
                try (SnapshotWriter w = store.create(SnapshotSpec.full(fresh, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                    StoreFixtures.writeAll(w, List.of(img), r, 2);
                    w.commit();
                } finally {
                    writing.set(false);
                    gc.join(60_000);
                }
                assertThat(gc.isAlive()).isFalse();
                try (SnapshotReader reader = store.open(fresh)) {
                    assertThat(StoreFixtures.readAll(reader, 0, r)).isEqualTo(img);
                }
                assertThat(store.verify(List.of()).ok()).isTrue();
            }
        }
    }

    @Test
    void aPruneCutShortAfterTheManifestLeavesLeftoversThatGcRemoves() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            Random r = new Random(8);
            SnapshotId id = StoreFixtures.id("x", 0);
            write(store, id, StoreFixtures.image(r, 500_000));
            // what a prune killed right after its first step leaves: the indexes without the manifest
            Files.delete(dir.resolve(Manifest.objectName(id)));
            assertThat(store.list(Optional.empty())).isEmpty();
            assertThat(store.verify(List.of()).ok()).isTrue();
            age(dir);
            GcResult g = store.gc(Duration.ZERO);
            assertThat(g.leftoversRemoved()).isEqualTo(1);
            assertThat(g.chunksRemoved()).isPositive();
            assertThat(Files.exists(dir.resolve(Manifest.dir(id)))).isFalse();
            assertThat(chunkFiles(dir)).isZero();
        }
    }
    @Test
    void gcRemovesOldTemporariesOfKilledWritersAndPutsBackWhatAKilledGcMovedAside() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            write(store, StoreFixtures.id("x", 0), StoreFixtures.image(new Random(9), 500_000));
            age(dir);
            List<Path> chunks;
            try (Stream<Path> s = Files.walk(dir.resolve("chunks"))) {
                chunks = s.filter(Files::isRegularFile).toList();
            }
            assertThat(chunks).isNotEmpty();
            // a gc killed between its two renames: a needed chunk left aside
            Path live = chunks.get(0);
            Path aside = live.resolveSibling(".gc-" + live.getFileName() + "-5eed");
            Files.move(live, aside);
            // ... and an unneeded one
            Path garbage = live.resolveSibling("00" + live.getFileName().toString().substring(2));
            assertThat(garbage).doesNotExist();
            Path garbageAside = live.resolveSibling(".gc-" + garbage.getFileName() + "-beef");
            Files.write(garbageAside, new byte[100]);
            // writers killed between write and rename: one long ago, one that may still be running
            Path oldTemp = live.resolveSibling(".tmp-" + live.getFileName() + "-1");
            Path newTemp = live.resolveSibling(".tmp-" + live.getFileName() + "-2");
            Files.write(oldTemp, new byte[10]);
            Files.write(newTemp, new byte[10]);
            Files.setLastModifiedTime(garbageAside, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
            Files.setLastModifiedTime(oldTemp,
                    FileTime.from(Instant.now().minus(GarbageCollector.TEMP_AGE).minus(Duration.ofMinutes(1))));

            GcResult g = store.gc(Duration.ZERO);

            assertThat(live).exists();
            assertThat(aside).doesNotExist();
            assertThat(garbageAside).doesNotExist();
            assertThat(garbage).doesNotExist();
            assertThat(oldTemp).doesNotExist();
            assertThat(newTemp).exists();
            assertThat(g.leftoversRemoved()).isEqualTo(1);
            assertThat(g.chunksRemoved()).isEqualTo(1);
            assertThat(g.chunksInUse()).isEqualTo(chunks.size());
            assertThat(store.verify(List.of()).ok()).isTrue();
        }
    }
    @Test
    void aWriterRegisteredForDaysOnAnotherHostIsNamedWithTheWayToReleaseIt() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            Instant twoDaysAgo = Instant.now().minus(Duration.ofDays(2));
            Files.createDirectories(dir.resolve("writers"));
            Files.writeString(dir.resolve("writers/old_2026-12-01T00:00:00Z"), "{\"id\":\"old/2026-12-01T00:00:00Z\","
                    + "\"host\":\"elsewhere.example\",\"pid\":4242,\"start\":\"" + twoDaysAgo + "\"}");
            java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
            java.io.PrintStream saved = System.err;
            System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
            try {
                store.gc(Duration.ZERO);
            } finally {
                System.setErr(saved);
            }
            assertThat(err.toString(java.nio.charset.StandardCharsets.UTF_8))
                    .contains("a backup that started PT48H ago (host elsewhere.example, pid 4242")
                    .contains("remove writers/old_2026-12-01T00:00:00Z from the store");
            assertThat(dir.resolve("writers/old_2026-12-01T00:00:00Z")).exists();
        }
    }
}
