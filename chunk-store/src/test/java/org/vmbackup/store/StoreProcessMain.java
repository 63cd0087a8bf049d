package org.vmbackup.store;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * A store user in a process of its own, for the crash and multi-process tests:
 * {@code write DIR VM SEED SIZE PAUSE_MS} writes snapshot VM/minute-SEED with {@link StoreFixtures#image} content
 * (printing WRITING once a quarter is in, COMMITTED at the end; PAUSE_MS between 64 KiB writes);
 * {@code gc DIR} prints GC and runs a gc with no grace.
 */
public final class StoreProcessMain {
    private StoreProcessMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        try (ChunkStore store = ChunkStore.open(dir, Optional.empty())) {
            if (args[0].equals("gc")) {
                System.out.println("GC");
                System.out.flush();
                GcResult g = store.gc(Duration.ZERO);
                System.out.println("GC-DONE " + g.chunksRemoved());
                return;
            }
            String vm = args[2];
            int seed = Integer.parseInt(args[3]);
            int size = Integer.parseInt(args[4]);
            long pause = Long.parseLong(args[5]);
            byte[] img = StoreFixtures.image(new Random(seed), size);
            SnapshotId id = StoreFixtures.id(vm, seed);
            try (SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                boolean told = false;
                for (int pos = 0; pos < size; pos += 65536) {
                    w.write(0, pos, ByteBuffer.wrap(img, pos, Math.min(65536, size - pos)));
                    if (!told && pos >= size / 4) {
                        System.out.println("WRITING");
                        System.out.flush();
                        told = true;
                    }
                    if (pause > 0) {
                        Thread.sleep(pause);
                    }
                }
                w.commit();
            }
            System.out.println("COMMITTED " + id);
        }
    }
}
