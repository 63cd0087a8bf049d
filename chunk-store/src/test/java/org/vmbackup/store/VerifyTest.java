package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** verify checks each distinct chunk once, and names every place of every snapshot that needs a damaged one. */
class VerifyTest {
    @TempDir
    Path tmp;

    @Test
    void aChunkSharedByTwoSnapshotsIsReadOnceAndBothPlacesAreNamed() throws Exception {
        Path dir = tmp.resolve("s");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK))) {
            byte[] img = StoreFixtures.image(new Random(3), 600_000);
            SnapshotId a = StoreFixtures.id("x", 0);
            SnapshotId b = StoreFixtures.id("y", 1);
            for (SnapshotId id : List.of(a, b)) {
                try (SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                    StoreFixtures.writeAll(w, List.of(img), new Random(id.hashCode()), 2);
                    w.commit();
                }
            }
            List<Path> chunks;
            try (Stream<Path> s = Files.walk(dir.resolve("chunks"))) {
                chunks = s.filter(Files::isRegularFile).toList();
            }
            VerifyReport clean = store.verify(List.of());
            assertThat(clean.ok()).isTrue();
            assertThat(clean.chunksChecked()).as("each distinct chunk once").isEqualTo(chunks.size());

            Path hit = chunks.get(0);
            byte[] bytes = Files.readAllBytes(hit);
            bytes[bytes.length / 2] ^= 1;
            Files.write(hit, bytes);
            VerifyReport v = store.verify(List.of());
            assertThat(v.chunksChecked()).isEqualTo(chunks.size() - 1);
            assertThat(v.damage()).isNotEmpty().allSatisfy(d -> {
                assertThat(d.object()).endsWith(hit.getFileName().toString());
                assertThat(d.problem()).contains("needed at snapshot " + d.snapshot() + ", disk 0 (d) offset ");
            });
            assertThat(v.damage().stream().map(VerifyReport.Damage::snapshot).distinct()).containsExactlyInAnyOrder(a, b);
        }
    }
}
