package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes scattered over many more chunks than the writer has buffers (a dirty-bitmap backup's 4 KiB clusters, or
 * any order at all): memory stays bounded (partly written chunks are spilled and reopened) and the data is exact.
 */
class ScatteredWritesTest {
    @TempDir
    Path tmp;

    @Test
    void scatteredWritesStayWithinTheBufferPoolAndReadBackExactly() throws Exception {
        int cs = StoreFixtures.SMALL_CHUNK;
        try (ChunkStore store = ChunkStore.init(tmp.resolve("s"), StoreOptions.defaults().withChunkSize(cs))) {
            for (boolean incremental : new boolean[] {false, true}) {
                Random r = new Random(incremental ? 2 : 1);
                int size = 60 * cs + 999;
                byte[] disk = StoreFixtures.image(r, size);
                SnapshotId base = StoreFixtures.id(incremental ? "inc" : "full", 0);
                if (incremental) {
                    try (SnapshotWriter w = store.create(SnapshotSpec.full(base, List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                        w.write(0, 0, ByteBuffer.wrap(disk));
                        w.commit();
                    }
                }
                // every 4 KiB block of the disk (full) or a third of them (incremental), in random order
                List<Integer> blocks = new ArrayList<>();
                for (int b = 0; b * 4096 < size; b++) {
                    if (!incremental || r.nextInt(3) == 0) {
                        blocks.add(b);
                    }
                }
                Collections.shuffle(blocks, r);
                SnapshotId id = StoreFixtures.id(incremental ? "inc" : "full", 1);
                var spec = new SnapshotSpec(id, List.of(new DiskSpec("d", size, incremental)), false, Map.of(),
                        incremental ? Optional.of(base) : Optional.empty());
                try (SnapshotWriter w = store.create(spec)) {
                    for (int b : blocks) {
                        int off = b * 4096;
                        int len = Math.min(4096, size - off);
                        if (incremental) {
                            byte[] x = new byte[len];
                            r.nextBytes(x);
                            System.arraycopy(x, 0, disk, off, len);
                        }
                        w.write(0, off, ByteBuffer.wrap(disk, off, len));
                    }
                    ChunkBufferPool pool = ((StoreSnapshotWriter) w).pool();
                    assertThat(pool.created()).isLessThanOrEqualTo(pool.limit());
                    w.commit();
                }
                try (SnapshotReader reader = store.open(id)) {
                    assertThat(StoreFixtures.readAll(reader, 0, r)).isEqualTo(disk);
                }
            }
            assertThat(store.verify(List.of()).ok()).isTrue();
        }
    }
}
