import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.vmbackup.store.*;

/**
 * The heap `store verify` needs as snapshots sharing chunks pile up (BENCHMARKS.md, "Chunk store, no VM").
 *   java -cp examples/target/vmabackup.jar benchmarks/VerifyMemory.java make DIR SNAPSHOTS MIB
 *       a store of 64 KiB chunks holding one random MIB-MiB image as SNAPSHOTS snapshots (every chunk shared)
 *   java -Xmx64m -cp examples/target/vmabackup.jar benchmarks/VerifyMemory.java verify DIR
 */
public class VerifyMemory {
    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[1]);
        if (a[0].equals("make")) {
            int n = Integer.parseInt(a[2]);
            long size = Long.parseLong(a[3]) << 20;
            java.nio.file.Files.createDirectories(dir);
            try (ChunkStore s = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(64 << 10))) {
                byte[] block = new byte[4 << 20];
                for (int k = 0; k < n; k++) {
                    SnapshotId id = SnapshotId.of("vm", Instant.parse("2026-01-01T00:00:00Z").plusSeconds(k));
                    try (SnapshotWriter w = s.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                        Random r = new Random(1);
                        for (long off = 0; off < size; off += block.length) {
                            r.nextBytes(block);
                            w.write(0, off, ByteBuffer.wrap(block));
                        }
                        w.commit();
                    }
                }
            }
        } else {
            long t0 = System.nanoTime();
            try (ChunkStore s = ChunkStore.open(dir)) {
                VerifyReport v = s.verify(List.of());
                System.out.printf("verify: %d snapshots, %d chunks, %d bytes, ok=%s, %.1f s%n", v.snapshots().size(),
                        v.chunksChecked(), v.bytesChecked(), v.ok(), (System.nanoTime() - t0) / 1e9);
            }
        }
    }
}
