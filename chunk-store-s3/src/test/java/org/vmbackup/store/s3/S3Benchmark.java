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
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Not a test: a benchmark {@code main} (no VM). {@code S3Benchmark DIR MIB [TARGET]...} writes a synthetic disk of MIB
 * MiB (per MiB: half random, a quarter text, a quarter zeros; every chunk distinct) in 1 MiB sequential writes into
 * a fresh store and reads it back twice (read: 1 MiB reads in order, as NBD and a live restore read, with the
 * reader's read-ahead; restore: every data chunk visited in order, as a restore to files, export and verify read),
 * for each TARGET (all when none is named): {@code local} (a directory),
 * {@code fs} / {@code mem} (S3Proxy on its filesystem / in-memory backend, directly), {@code fs-rtt16} /
 * {@code mem-rtt16} (behind the test proxy at 50 ms round trip, 16 requests in flight), {@code fs-rtt1} /
 * {@code mem-rtt1} (the same, one connection: one request at a time). Same run, same data. Beside each figure: the
 * CPU seconds per GiB of this process (the client) and of S3Proxy, to tell which side is the bottleneck.
 */
public final class S3Benchmark {
    private static final int MIB = 1 << 20;
    private static final List<String> ALL = List.of("local", "fs", "fs-rtt16", "fs-rtt1", "mem", "mem-rtt16", "mem-rtt1");

    private S3Benchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int mib = Integer.parseInt(args[1]);
        List<String> targets = args.length > 2 ? List.of(args).subList(2, args.length) : ALL;
        Files.createDirectories(dir);
        byte[] pool = new byte[2 * MIB];
        new Random(1).nextBytes(pool);
        System.out.printf("%-40s %8s %8s %8s %10s %10s %10s %10s%n", "target", "write", "read", "restore",
                "cli w s/G", "srv w s/G", "cli r s/G", "srv r s/G");
        System.out.printf("%-40s %8s %8s %8s%n", "", "MiB/s", "MiB/s", "MiB/s");
        for (String t : targets) {
            if (t.equals("local")) {
                Path local = Files.createDirectories(dir.resolve("local"));
                run("local directory (no fsync)", new LocalBackend(local, false), null, pool, mib);
                continue;
            }
            boolean mem = t.startsWith("mem");
            // an in-memory server holds every object: the stored size (at most the disk) plus room
            try (S3ProxyServer server = mem ? S3ProxyServer.startInMemory(dir.resolve(t), (mib * 2 + 512) + "m")
                    : S3ProxyServer.start(dir.resolve(t), "bench");
                    FaultProxy slow = new FaultProxy(server.endpoint())) {
                S3Options direct = TestServers.options(server);
                if (mem) {
                    try (S3Client c = S3Clients.build(direct)) {
                        c.createBucket(r -> r.bucket("bench"));
                    }
                }
                String backend = mem ? "S3Proxy in memory" : "S3Proxy filesystem";
                S3Options o = direct;
                String name = backend + ", 16 in flight";
                if (t.endsWith("-rtt16") || t.endsWith("-rtt1")) {
                    slow.delay(Duration.ofMillis(25));
                    o = TestServers.options(slow.endpoint());
                    name = backend + " at 50 ms RTT, 16 in flight";
                }
                if (t.endsWith("-rtt1")) {
                    o = new S3Options(o.endpoint(), o.region(), o.accessKeyId(), o.secretAccessKey(), 1,
                            o.maxAttempts(), o.attemptTimeout(), 0);
                    name = backend + " at 50 ms RTT, one at a time";
                }
                run(name, S3Backend.open(S3Location.parse("s3://bench/" + t), o), server, pool, mib);
            }
        }
    }

    private static Duration cpu() {
        return ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO);
    }

    private static double perGiB(Duration d, int mib) {
        return d.toNanos() / 1e9 / (mib / 1024.0);
    }

    private static void run(String name, StoreBackend backend, S3ProxyServer server, byte[] pool, int mib) throws Exception {
        SnapshotId id = new SnapshotId("bench", Instant.parse("2026-12-07T03:00:00Z"));
        long size = (long) mib * MIB;
        try (ChunkStore s = ChunkStore.init(backend, StoreOptions.defaults())) {
            ByteBuffer b = ByteBuffer.allocate(MIB);
            Duration c0 = cpu();
            Duration s0 = server == null ? Duration.ZERO : server.cpuTime();
            long t0 = System.nanoTime();
            try (SnapshotWriter w = s.create(SnapshotSpec.full(id, List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                for (long i = 0; i < mib; i++) {
                    block(pool, i, b);
                    w.write(0, i * MIB, b);
                }
                w.commit();
            }
            double write = mib / ((System.nanoTime() - t0) / 1e9);
            Duration c1 = cpu();
            Duration s1 = server == null ? Duration.ZERO : server.cpuTime();
            long t1 = System.nanoTime();
            try (SnapshotReader r = s.open(id)) {
                for (long off = 0; off < size; off += MIB) {
                    b.clear();
                    r.read(0, off, b);
                }
            }
            double read = mib / ((System.nanoTime() - t1) / 1e9);
            Duration c2 = cpu();
            Duration s2 = server == null ? Duration.ZERO : server.cpuTime();
            // the restore's way (a file restore, export, verify): every data chunk in order, fetched a window ahead
            long t2 = System.nanoTime();
            long[] seen = {0};
            try (SnapshotReader r = s.open(id)) {
                r.visitData(0, (off, data) -> seen[0] += data.remaining());
            }
            double visit = mib / ((System.nanoTime() - t2) / 1e9);
            if (seen[0] == 0 || seen[0] > size) {
                throw new IllegalStateException("the visit saw " + seen[0] + " bytes of " + size);
            }
            System.out.printf("%-40s %8.1f %8.1f %8.1f %10.1f %10.1f %10.1f %10.1f%n", name, write, read, visit,
                    perGiB(c1.minus(c0), mib), perGiB(s1.minus(s0), mib), perGiB(c2.minus(c1), mib),
                    perGiB(s2.minus(s1), mib));
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
