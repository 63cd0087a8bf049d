package org.vmbackup.store.s3;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.DiskSpec;
import org.vmbackup.store.LocalBackend;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotReader;
import org.vmbackup.store.SnapshotSpec;
import org.vmbackup.store.SnapshotWriter;
import org.vmbackup.store.StoreBackend;
import org.vmbackup.store.StoreOptions;
import org.vmbackup.testkit.S3ProxyServer;

/**
 * Not a test: a benchmark {@code main} (no VM). {@code S3Benchmark DIR MIB} writes a synthetic disk of MIB MiB (per
 * MiB: half random, a quarter text, a quarter zeros; every chunk distinct) in 1 MiB sequential writes into a fresh
 * store and reads it back, for: a local directory, S3Proxy directly, and S3Proxy behind the test proxy at 50 ms
 * round trip with 16 requests in flight and with one connection (one request at a time). Same run, same data.
 */
public final class S3Benchmark {
    private static final int MIB = 1 << 20;

    private S3Benchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int mib = Integer.parseInt(args[1]);
        Files.createDirectories(dir);
        byte[] pool = new byte[2 * MIB];
        new Random(1).nextBytes(pool);
        System.out.printf("%-34s %12s %12s%n", "target", "write MiB/s", "read MiB/s");
        Path local = Files.createDirectories(dir.resolve("local"));
        run("local directory (no fsync)", new LocalBackend(local, false), pool, mib);
        try (S3ProxyServer server = S3ProxyServer.start(dir.resolve("s3"), "bench");
                FaultProxy slow = new FaultProxy(server.endpoint())) {
            run("S3Proxy, 16 in flight", S3Backend.open(S3Location.parse("s3://bench/direct"), TestServers.options(server)), pool, mib);
            slow.delay(Duration.ofMillis(25));
            S3Options viaSlow = TestServers.options(slow.endpoint());
            run("S3Proxy at 50 ms RTT, 16 in flight", S3Backend.open(S3Location.parse("s3://bench/rtt16"), viaSlow), pool, mib);
            S3Options one = new S3Options(viaSlow.endpoint(), viaSlow.region(), viaSlow.accessKeyId(),
                    viaSlow.secretAccessKey(), 1, viaSlow.maxAttempts(), viaSlow.attemptTimeout(), 0);
            run("S3Proxy at 50 ms RTT, one at a time", S3Backend.open(S3Location.parse("s3://bench/rtt1"), one), pool, mib);
        }
    }

    private static void run(String name, StoreBackend backend, byte[] pool, int mib) throws Exception {
        SnapshotId id = new SnapshotId("bench", Instant.parse("2026-12-07T03:00:00Z"));
        long size = (long) mib * MIB;
        try (ChunkStore s = ChunkStore.init(backend, StoreOptions.defaults())) {
            ByteBuffer b = ByteBuffer.allocate(MIB);
            long t0 = System.nanoTime();
            try (SnapshotWriter w = s.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                for (long i = 0; i < mib; i++) {
                    block(pool, i, b);
                    w.write(0, i * MIB, b);
                }
                w.commit();
            }
            double write = mib / ((System.nanoTime() - t0) / 1e9);
            long t1 = System.nanoTime();
            try (SnapshotReader r = s.open(id)) {
                for (long off = 0; off < size; off += MIB) {
                    b.clear();
                    r.read(0, off, b);
                }
            }
            double read = mib / ((System.nanoTime() - t1) / 1e9);
            System.out.printf("%-34s %12.1f %12.1f%n", name, write, read);
        }
    }

    /** MiB number {@code i}: distinct in every chunk (its number in the first bytes). */
    private static void block(byte[] pool, long i, ByteBuffer b) {
        b.clear();
        int kind = (int) (i % 4);
        if (kind < 2) {
            b.put(pool, (int) ((i * 7919) % MIB), MIB);
        } else if (kind == 2) {
            while (b.hasRemaining()) {
                b.put((byte) "vmbackup s3 ".charAt(b.position() % 12));
            }
        } else {
            b.put(new byte[MIB]);
        }
        b.putLong(0, i);
        b.flip();
    }
}
