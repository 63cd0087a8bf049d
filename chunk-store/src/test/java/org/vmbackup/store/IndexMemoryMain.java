package org.vmbackup.store;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * For {@link IndexMemoryTest}, in a JVM of its own with a small heap: {@code DIR TIB} backs up a sparse disk of TIB
 * TiB (1 MiB chunks, three of them data, the rest zeros) into a new store in DIR, reads it back, verifies it, and
 * takes an incremental snapshot of it (its parent's index and its own open at once), then reads that. Exits 0 and
 * prints {@code OK} and the heap's peak (MiB) on its last line when everything read back as written.
 */
public final class IndexMemoryMain {
    private static final int MIB = 1 << 20;

    private IndexMemoryMain() {
    }

    public static void main(String[] args) throws Exception {
        // the heap in use, sampled (the test's module does not read java.management's exact pool peaks)
        AtomicLong peak = new AtomicLong();
        Thread sampler = new Thread(() -> {
            Runtime rt = Runtime.getRuntime();
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(rt.totalMemory() - rt.freeMemory(), Math::max);
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.setDaemon(true);
        sampler.start();
        Path dir = Files.createDirectories(Path.of(args[0]));
        long size = Long.parseLong(args[1]) << 40;
        Random r = new Random(7);
        long[] at = {0, size / 2 + 3L * MIB, size - MIB};
        byte[][] data = new byte[at.length][MIB];
        for (byte[] d : data) {
            r.nextBytes(d);
        }
        SnapshotId full = StoreFixtures.id("big", 0);
        SnapshotId inc = StoreFixtures.id("big", 1);
        try (ChunkStore store = ChunkStore.init(new LocalBackend(dir, false), StoreOptions.defaults())) {
            try (SnapshotWriter w = store.create(SnapshotSpec.full(full, List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                long pos = 0;
                for (int k = 0; k < at.length; k++) {
                    w.writeZeroes(0, pos, at[k] - pos);
                    w.write(0, at[k], ByteBuffer.wrap(data[k]));
                    pos = at[k] + MIB;
                }
                w.commit();
            }
            check(store, full, at, data);
            VerifyReport v = store.verify(List.of(full));
            if (!v.ok() || v.chunksChecked() != at.length) {
                throw new IllegalStateException("verify: " + v);
            }
            byte[] change = new byte[MIB];
            r.nextBytes(change);
            long changeAt = size / 4;
            try (SnapshotWriter w = store.create(new SnapshotSpec(inc, List.of(new DiskSpec("d", size, true)), false,
                    Map.of(), Optional.of(full)))) {
                w.write(0, changeAt, ByteBuffer.wrap(change));
                w.commit();
            }
            long[] at2 = Arrays.copyOf(at, at.length + 1);
            at2[at.length] = changeAt;
            byte[][] data2 = Arrays.copyOf(data, data.length + 1);
            data2[data.length] = change;
            check(store, inc, at2, data2);
        }
        sampler.interrupt();
        System.out.println("OK heap-peak-mib " + peak.get() / MIB + " max-heap-mib " + Runtime.getRuntime().maxMemory() / MIB);
    }

    /** The data chunks read back, and the disk's hole runs as long as the index says. */
    private static void check(ChunkStore store, SnapshotId id, long[] at, byte[][] data) throws Exception {
        try (SnapshotReader rd = store.open(id)) {
            for (int k = 0; k < at.length; k++) {
                ByteBuffer b = ByteBuffer.allocate(MIB);
                while (b.hasRemaining()) {
                    rd.read(0, at[k] + b.position(), b);
                }
                if (!Arrays.equals(b.array(), data[k])) {
                    throw new IllegalStateException(id + ": chunk at " + at[k] + " differs");
                }
            }
            Extent e = rd.blockStatus(0, MIB, 1L << 40);
            if (!e.hole() || e.length() != Math.min(1L << 40, Arrays.stream(at).filter(x -> x > 0).min().orElseThrow() - MIB)) {
                throw new IllegalStateException(id + ": block status " + e);
            }
        }
    }
}
