package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Damaged stores: a flipped byte anywhere (chunk, index, manifest, config blob) is an error naming the object,
 * never wrong data; truncated indexes and missing chunks likewise; verify names what is damaged.
 */
class CorruptionTest {
    @TempDir
    Path tmp;
    private Path dir;
    private byte[] image;
    private byte[] config;
    private final SnapshotId id = StoreFixtures.id("web1", 0);
    private Optional<StoreKey> key;

    private void makeStore(boolean encrypted) throws Exception {
        dir = tmp.resolve("s");
        key = encrypted ? Optional.of(StoreKey.create(tmp.resolve("key"))) : Optional.empty();
        StoreOptions o = StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK);
        Random r = new Random(11);
        image = StoreFixtures.image(r, 5 * StoreFixtures.SMALL_CHUNK + 123);
        config = "memory: 512\n".getBytes();
        try (ChunkStore s = ChunkStore.init(dir, encrypted ? o.withKey(key.get()) : o);
                SnapshotWriter w = s.create(SnapshotSpec.full(id, List.of(DiskSpec.full("drive-scsi0", image.length)),
                        false, Map.of("qemu-server.conf", config)))) {
            StoreFixtures.writeAll(w, List.of(image), r, 2);
            w.commit();
        }
    }

    @BeforeEach
    void plainStore() throws Exception {
        makeStore(false);
    }

    private List<Path> files(String under) throws IOException {
        try (Stream<Path> s = Files.walk(dir.resolve(under))) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static void flip(Path f, long pos) throws IOException {
        byte[] b = Files.readAllBytes(f);
        b[(int) pos] ^= 0x40;
        Files.write(f, b);
    }

    /** Reads everything of the snapshot; returns normally only if every byte is exactly the original. */
    private void readEverything() throws Exception {
        try (ChunkStore s = ChunkStore.open(dir, key); SnapshotReader r = s.open(id)) {
            assertThat(StoreFixtures.readAll(r, 0, new Random(1))).isEqualTo(image);
            assertThat(r.config("qemu-server.conf")).isEqualTo(config);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void everyFlippedByteIsAnErrorOrHarmlessNeverWrongData(boolean encrypted) throws Exception {
        if (encrypted) {
            deleteRecursively(dir);
            Files.deleteIfExists(tmp.resolve("key"));
            makeStore(true);
        }
        Random r = new Random(encrypted ? 2 : 1);
        List<Path> all = new ArrayList<>(files("chunks"));
        all.addAll(files("snapshots"));
        int errors = 0;
        for (Path f : all) {
            byte[] original = Files.readAllBytes(f);
            for (int k = 0; k < 12; k++) {
                long pos = k < 4 ? k * 5 : r.nextInt(original.length);
                flip(f, pos);
                try {
                    readEverything();
                } catch (StoreException e) {
                    errors++;
                    String name = dir.relativize(f).toString();
                    String object = name.startsWith("chunks/") ? name.substring(name.lastIndexOf('/') + 1) : name;
                    assertThat(e.getMessage()).as("flip at %d of %s", pos, name)
                            .satisfiesAnyOf(m -> assertThat(m).contains(object),
                                    m -> assertThat(m).contains("manifest"), m -> assertThat(m).contains("index of"));
                }
                Files.write(f, original);
            }
        }
        assertThat(errors).isPositive();
        readEverything();
    }

    @Test
    void aDamagedChunkIsNamedWithSnapshotDiskAndOffsetOnReadAndInVerify() throws Exception {
        Path chunk = files("chunks").get(0);
        String hex = chunk.getFileName().toString();
        flip(chunk, Files.size(chunk) - 1);
        try (ChunkStore s = ChunkStore.open(dir, key); SnapshotReader reader = s.open(id)) {
            assertThatThrownBy(() -> StoreFixtures.readAll(reader, 0, new Random(1)))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("chunk " + hex)
                    .hasMessageContaining("snapshot " + id + ", disk 0 (drive-scsi0) offset ")
                    .hasMessageContaining("damaged");
            VerifyReport v = s.verify(List.of(id));
            assertThat(v.ok()).isFalse();
            assertThat(v.damage()).allSatisfy(d -> {
                assertThat(d.object()).isEqualTo("chunks/" + hex.substring(0, 3) + "/" + hex);
                assertThat(d.snapshot()).isEqualTo(id);
                assertThat(d.problem()).contains("drive-scsi0");
            });
            assertThat(v.damage()).isNotEmpty();
        }
    }

    @Test
    void aMissingChunkIsNamed() throws Exception {
        Path chunk = files("chunks").get(0);
        Files.delete(chunk);
        try (ChunkStore s = ChunkStore.open(dir, key)) {
            VerifyReport v = s.verify(List.of());
            assertThat(v.damage()).isNotEmpty().allSatisfy(d -> assertThat(d.problem()).contains("is missing from store"));
            assertThat(v.damage().get(0).object()).endsWith(chunk.getFileName().toString());
        }
    }

    @Test
    void aTruncatedIndexIsNamed() throws Exception {
        Path idx = dir.resolve(Manifest.dir(id) + "disk-0.fidx");
        byte[] b = Files.readAllBytes(idx);
        Files.write(idx, java.util.Arrays.copyOf(b, b.length - 7));
        try (ChunkStore s = ChunkStore.open(dir, key)) {
            assertThatThrownBy(() -> s.open(id)).isInstanceOf(CorruptDataException.class)
                    .hasMessage("snapshot " + id + ": index of disk drive-scsi0 (" + Manifest.dir(id)
                            + "disk-0.fidx) is damaged or truncated (checksum mismatch)");
            assertThat(s.verify(List.of(id)).damage()).singleElement()
                    .satisfies(d -> assertThat(d.object()).isEqualTo(Manifest.dir(id) + "disk-0.fidx"));
            assertThatThrownBy(s::gc).hasMessageStartingWith("gc stopped, nothing deleted: ");
        }
    }

    @Test
    void aDamagedManifestIsNamed() throws Exception {
        Path m = dir.resolve(Manifest.objectName(id));
        flip(m, 10);
        try (ChunkStore s = ChunkStore.open(dir, key)) {
            assertThatThrownBy(() -> s.open(id)).isInstanceOf(CorruptDataException.class)
                    .hasMessage("snapshot " + id + ": manifest is damaged (checksum mismatch)");
            assertThat(s.verify(List.of()).damage()).singleElement()
                    .satisfies(d -> assertThat(d.object()).isEqualTo(Manifest.objectName(id)));
        }
    }

    @Test
    void aDamagedManifestDoesNotHideTheOtherSnapshotsFromTheListing() throws Exception {
        SnapshotId later = StoreFixtures.id("web1", 1);
        SnapshotId other = StoreFixtures.id("db1", 0);
        try (ChunkStore s = ChunkStore.open(dir, key)) {
            for (SnapshotId x : List.of(later, other)) {
                try (SnapshotWriter w = s.create(SnapshotSpec.full(x, List.of(DiskSpec.full("drive-scsi0",
                        image.length)), false, Map.of()))) {
                    StoreFixtures.writeAll(w, List.of(image), new Random(3), 1);
                    w.commit();
                }
            }
        }
        flip(dir.resolve(Manifest.objectName(id)), 10);
        try (ChunkStore s = ChunkStore.open(dir, key)) {
            SnapshotListing all = s.listing(Optional.empty());
            assertThat(all.snapshots()).extracting(SnapshotInfo::id).containsExactly(other, later);
            assertThat(all.damaged()).containsOnlyKeys(id);
            assertThat(all.damaged().get(id)).isEqualTo("snapshot " + id + ": manifest is damaged (checksum mismatch)");
            assertThat(s.listing(Optional.of("db1")).damaged()).isEmpty();
            assertThatThrownBy(() -> s.list(Optional.empty())).isInstanceOf(CorruptDataException.class);
        }
    }

    private static void deleteRecursively(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
