package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A store made without compression: every chunk stored as it is, what the config says, read back exactly. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CompressionNoneTest {
    @TempDir
    Path tmp;

    /** Three chunks of text (compressible), one of zeros (a hole either way). */
    private static byte[] text() {
        int cs = StoreFixtures.SMALL_CHUNK;
        byte[] b = new byte[4 * cs];
        for (int i = 0; i < 3 * cs; i++) {
            b[i] = (byte) ("the quick brown fox " + (i / 64)).charAt(i % 20);
        }
        return b;
    }

    private static long backup(ChunkStore store, String vm, byte[] image) throws Exception {
        SnapshotId id = StoreFixtures.id(vm, 1);
        try (SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("drive-0", image.length)), false, Map.of()))) {
            StoreFixtures.writeAll(w, List.of(image), new Random(1), 2);
            return w.commit().bytesNew();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void chunksAreStoredUncompressedAndReadBackExactly(boolean encrypted) throws Exception {
        StoreOptions o = StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK)
                .withCompressionLevel(StoreOptions.NO_COMPRESSION);
        Optional<StoreKey> key = Optional.empty();
        if (encrypted) {
            key = Optional.of(StoreKey.create(tmp.resolve("key")));
            o = o.withKey(key.get());
        }
        byte[] image = text();
        int cs = StoreFixtures.SMALL_CHUNK;
        int perChunk = ChunkCodec.HEADER + cs + (encrypted ? 12 + 16 : 0); // header, plaintext (+ IV and tag)
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, o)) {
            assertThat(store.compressionLevel()).isEqualTo(StoreOptions.NO_COMPRESSION);
            assertThat(backup(store, "a", image)).isEqualTo(3L * perChunk);
        }
        String config = Files.readString(dir.resolve("config"));
        assertThat(config).contains("\"compression\":\"none\"").doesNotContain("compressionLevel");
        // reopened: still none (the config, not the options of init, decides)
        image[5] = 'X';
        try (ChunkStore store = ChunkStore.open(dir, key)) {
            assertThat(store.compressionLevel()).isEqualTo(StoreOptions.NO_COMPRESSION);
            assertThat(backup(store, "b", image)).isEqualTo(perChunk); // one chunk changed, stored whole
            try (SnapshotReader r = store.open(StoreFixtures.id("b", 1))) {
                assertThat(StoreFixtures.readAll(r, 0, new Random(2))).isEqualTo(image);
            }
            assertThat(store.verify(List.of()).ok()).isTrue();
        }
    }

    @Test
    void theDefaultCompressesAndOtherCompressionsAreRefusedByName() throws Exception {
        byte[] image = text();
        Path dir = tmp.resolve("z");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            assertThat(store.compressionLevel()).isEqualTo(1);
            assertThat(backup(store, "a", image)).isLessThan(StoreFixtures.SMALL_CHUNK); // text shrinks a lot
        }
        assertThat(Files.readString(dir.resolve("config"))).contains("\"compression\":\"zstd\",\"compressionLevel\":1");
        Files.writeString(dir.resolve("config"), Files.readString(dir.resolve("config")).replace("\"zstd\"", "\"lz4\""));
        assertThatThrownBy(() -> ChunkStore.open(dir, Optional.empty())).isInstanceOf(StoreException.class)
                .hasMessage("store " + dir + ": config: unknown compression 'lz4'");
        assertThatThrownBy(() -> StoreOptions.defaults().withCompressionLevel(20))
                .hasMessage("compression level 20 is not 1 to 19 (0: none)");
    }
}
