package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A disk marked incremental takes unwritten chunks from its parent and completes partly written ones from it. */
class IncrementalTest {
    @TempDir
    Path tmp;

    @Test
    void chainsOfIncrementalSnapshotsReadBackAsTheDiskAtEachInstant() throws Exception {
        int cs = StoreFixtures.SMALL_CHUNK;
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), StoreOptions.defaults().withChunkSize(cs))) {
            for (int seed = 1; seed <= 6; seed++) {
                Random r = new Random(seed);
                int size = 1 + r.nextInt(40 * cs);
                byte[] disk = StoreFixtures.image(r, size);
                String vm = "vm" + seed;
                SnapshotId parent = StoreFixtures.id(vm, 0);
                try (SnapshotWriter w = store.create(SnapshotSpec.full(parent, List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                    StoreFixtures.writeAll(w, List.of(disk), r, 2);
                    w.commit();
                }
                for (int gen = 1; gen <= 3; gen++) {
                    SnapshotId id = StoreFixtures.id(vm, gen);
                    long before = newChunkBytes(store, id, parent, disk, r);
                    try (SnapshotReader reader = store.open(id)) {
                        assertThat(StoreFixtures.readAll(reader, 0, r)).as("seed %d gen %d", seed, gen).isEqualTo(disk);
                        assertThat(reader.info().parent()).contains(parent);
                        assertThat(reader.info().disks().get(0).incremental()).isTrue();
                    }
                    assertThat(before).isGreaterThanOrEqualTo(0);
                    parent = id;
                }
            }
            assertThat(store.verify(List.of()).ok()).isTrue();
        }
    }

    /** Writes a few random changes (data and zeroes, any alignment) to {@code disk} as an incremental snapshot. */
    private static long newChunkBytes(ChunkStore store, SnapshotId id, SnapshotId parent, byte[] disk, Random r)
            throws Exception {
        var spec = new SnapshotSpec(id, List.of(new DiskSpec("d", disk.length, true)), false, Map.of(), Optional.of(parent));
        try (SnapshotWriter w = store.create(spec)) {
            // disjoint changes, as a dirty bitmap yields them: each byte written at most once, chunks shared
            int off = 0;
            while (true) {
                off += r.nextInt(2 * StoreFixtures.SMALL_CHUNK);
                if (off >= disk.length) {
                    break;
                }
                int len = 1 + r.nextInt(Math.min(disk.length - off, StoreFixtures.SMALL_CHUNK + 100));
                if (r.nextInt(3) == 0) {
                    java.util.Arrays.fill(disk, off, off + len, (byte) 0);
                    w.writeZeroes(0, off, len);
                } else {
                    byte[] b = new byte[len];
                    r.nextBytes(b);
                    System.arraycopy(b, 0, disk, off, len);
                    w.write(0, off, ByteBuffer.wrap(b));
                }
                off += len;
            }
            return w.commit().bytesNew();
        }
    }

    @Test
    void unchangedIncrementalStoresNothingNew() throws Exception {
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            Random r = new Random(5);
            byte[] disk = StoreFixtures.image(r, 900_000);
            SnapshotId p = StoreFixtures.id("v", 0);
            try (SnapshotWriter w = store.create(SnapshotSpec.full(p, List.of(DiskSpec.full("d", disk.length)), false, Map.of()))) {
                StoreFixtures.writeAll(w, List.of(disk), r, 1);
                w.commit();
            }
            var spec = new SnapshotSpec(StoreFixtures.id("v", 1), List.of(new DiskSpec("d", disk.length, true)), false,
                    Map.of(), Optional.of(p));
            try (SnapshotWriter w = store.create(spec)) {
                assertThat(w.commit().bytesNew()).isZero();
            }
        }
    }

    @Test
    void aParentWithoutTheDiskOrOfAnotherSizeIsRefusedByName() throws Exception {
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            SnapshotId p = StoreFixtures.id("v", 0);
            try (SnapshotWriter w = store.create(SnapshotSpec.full(p, List.of(DiskSpec.full("d", 1000)), false, Map.of()))) {
                w.commit();
            }
            assertThatThrownBy(() -> store.create(new SnapshotSpec(StoreFixtures.id("v", 1),
                    List.of(new DiskSpec("e", 1000, true)), false, Map.of(), Optional.of(p))))
                    .isInstanceOf(StoreException.class).hasMessageContaining("has no disk e");
            assertThatThrownBy(() -> store.create(new SnapshotSpec(StoreFixtures.id("v", 1),
                    List.of(new DiskSpec("d", 2000, true)), false, Map.of(), Optional.of(p))))
                    .isInstanceOf(StoreException.class).hasMessageContaining("is 2000 bytes, in parent");
            assertThatThrownBy(() -> store.create(new SnapshotSpec(StoreFixtures.id("v", 1),
                    List.of(new DiskSpec("d", 1000, true)), false, Map.of(), Optional.of(StoreFixtures.id("v", 9)))))
                    .isInstanceOf(StoreException.class).hasMessageContaining("does not exist");
            // a failed create leaves no writer marker behind: the same id can be written now
            try (SnapshotWriter w = store.create(SnapshotSpec.full(StoreFixtures.id("v", 1), List.of(), false, Map.of()))) {
                w.commit();
            }
        }
    }

    /**
     * The parent's chunks are touched on the store's workers while the snapshot is written, not in create: a chunk
     * missing by then (a gc took it) still fails the commit, and no manifest is published.
     */
    @Test
    void aParentChunkMissingFailsTheCommitAndEveryOtherIsTouchedBeforeIt() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            Random r = new Random(7);
            byte[] disk = StoreFixtures.image(r, 40 * StoreFixtures.SMALL_CHUNK);
            SnapshotId p = StoreFixtures.id("v", 0);
            try (SnapshotWriter w = store.create(SnapshotSpec.full(p, List.of(DiskSpec.full("d", disk.length)), false, Map.of()))) {
                // in order, chunk by chunk: no chunk is spilled half-written, so every chunk file is the parent's
                w.write(0, 0, ByteBuffer.wrap(disk));
                w.commit();
            }
            List<Path> chunks;
            try (var files = java.nio.file.Files.walk(dir.resolve("chunks"))) {
                chunks = files.filter(java.nio.file.Files::isRegularFile).sorted().toList();
            }
            assertThat(chunks).hasSizeGreaterThan(1);
            java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.fromMillis(0);
            for (Path c : chunks) {
                java.nio.file.Files.setLastModifiedTime(c, old);
            }
            var spec = new SnapshotSpec(StoreFixtures.id("v", 1), List.of(new DiskSpec("d", disk.length, true)), false,
                    Map.of(), Optional.of(p));
            try (SnapshotWriter w = store.create(spec)) {
                w.commit();
            }
            for (Path c : chunks) {
                assertThat(java.nio.file.Files.getLastModifiedTime(c)).as("%s touched", c).isGreaterThan(old);
            }
            java.nio.file.Files.delete(chunks.get(chunks.size() / 2));
            SnapshotId next = StoreFixtures.id("v", 2);
            var spec2 = new SnapshotSpec(next, List.of(new DiskSpec("d", disk.length, true)), false, Map.of(),
                    Optional.of(StoreFixtures.id("v", 1)));
            try (SnapshotWriter w = store.create(spec2)) {
                assertThatThrownBy(w::commit).isInstanceOf(StoreException.class)
                        .hasMessageContaining("is missing from the store (take a full copy of it)");
            }
            assertThat(store.find(next)).isEmpty();
        }
    }
}
