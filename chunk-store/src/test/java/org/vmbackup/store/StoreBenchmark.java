package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Not a test: a benchmark {@code main} (no VM involved). {@code throughput DIR GIB} writes a synthetic disk (per
 * MiB: half incompressible, a quarter text, a quarter zeros; every chunk distinct) into a fresh store, verifies
 * and reads it back, and measures the same machine's peers in the same run: writing the raw image to a file,
 * {@code sha256sum} and {@code zstd -1} of it. {@code chunksize DIR MIB CHANGES} measures, per chunk size, what an
 * incremental snapshot of CHANGES scattered 4 KiB writes stores, and the object count and index size.
 * {@code sparse DIR TIB} times what the index alone costs on a mostly empty disk of TIB TiB.
 */
public final class StoreBenchmark {
    private static final int MIB = 1 << 20;

    private StoreBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        if (args[0].equals("throughput")) {
            throughput(dir, Integer.parseInt(args[2]), args.length < 4 || !args[3].equals("nosync"));
        } else if (args[0].equals("sparse")) {
            sparse(dir, Integer.parseInt(args[2]));
        } else {
            chunkSizes(dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
        }
    }

    /** MiB number {@code i} of the synthetic disk, into {@code b}. */
    private static void block(byte[] pool, long i, ByteBuffer b) {
        b.clear();
        int kind = (int) (i % 4);
        if (kind == 3) {
            b.put(new byte[MIB]);
        } else if (kind == 2) {
            for (int k = 0; k < MIB; k += 64) {
                b.put("quick brown fox, block ".getBytes()).putLong(i).putLong(k)
                        .position(k + 64);
            }
        } else {
            b.put(pool, (int) ((i * 7919L * 4096) % (pool.length - MIB)), MIB);
        }
        b.putLong(0, i + 1); // every chunk distinct
        b.flip();
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void throughput(Path dir, int gib, boolean sync) throws Exception {
        Files.createDirectories(dir);
        byte[] pool = new byte[64 * MIB];
        new Random(1).nextBytes(pool);
        long blocks = (long) gib * 1024;
        long size = blocks * MIB;
        ByteBuffer b = ByteBuffer.allocateDirect(MIB);
        Path raw = dir.resolve("raw.img");
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long i = 0; i < blocks; i++) {
                block(pool, i, b);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            ch.force(true);
        }
        double rawWrite = secs(t0);
        t0 = System.nanoTime();
        Files.createDirectories(dir.resolve("store"));
        try (ChunkStore store = ChunkStore.init(new LocalBackend(dir.resolve("store"), sync), StoreOptions.defaults());
                SnapshotWriter w = store.create(SnapshotSpec.full(StoreFixtures.id("bench", 0),
                        List.of(DiskSpec.full("d", size)), false, Map.of()))) {
            for (long i = 0; i < blocks; i++) {
                block(pool, i, b);
                w.write(0, i * MIB, b);
            }
            SnapshotInfo info = w.commit();
            double write = secs(t0);
            t0 = System.nanoTime();
            VerifyReport v = store.verify(List.of(info.id()));
            double verify = secs(t0);
            t0 = System.nanoTime();
            long[] read = {0};
            try (SnapshotReader r = store.open(info.id())) {
                r.visitData(0, (off, data) -> read[0] += data.remaining());
            }
            double restore = secs(t0);
            double sha = timed("sha256sum", raw.toString());
            double zstd = timed("zstd", "-1", "-q", "-c", "-T1", raw.toString());
            System.out.printf("disk %d MiB, stored %d bytes (%d MiB), cpus %d, fsync per chunk %b%n", size / MIB,
                    info.bytesNew(), info.bytesNew() / MIB, Runtime.getRuntime().availableProcessors(), sync);
            System.out.printf("store write    %.1f s  %.0f MB/s%n", write, size / 1e6 / write);
            System.out.printf("raw file write %.1f s  %.0f MB/s (peer)  store/raw time ratio %.2f%n", rawWrite,
                    size / 1e6 / rawWrite, write / rawWrite);
            System.out.printf("zstd -1 -T1    %.1f s  %.0f MB/s (peer)  store-write/zstd time ratio %.2f%n", zstd,
                    size / 1e6 / zstd, write / zstd);
            System.out.printf("store verify   %.1f s  %.0f MB/s logical (%d chunks, ok=%b)%n", verify,
                    size / 1e6 / verify, v.chunksChecked(), v.ok());
            System.out.printf("sha256sum      %.1f s  %.0f MB/s (peer)  verify/sha256sum time ratio %.2f%n", sha,
                    size / 1e6 / sha, verify / sha);
            System.out.printf("store read (visitData) %.1f s  %.0f MB/s logical, %d data bytes%n", restore,
                    size / 1e6 / restore, read[0]);
        }
        deleteTree(dir);
    }

    /**
     * {@code sparse DIR TIB}: what the index costs, with (almost) no chunk data: a TIB TiB disk of zeros but one
     * chunk in every GiB, written (commit = the index's publish), verified, scanned by block status (every slot
     * once), and then an incremental snapshot of it (the parent's index touched and copied slot by slot). No fsync.
     */
    private static void sparse(Path dir, int tib) throws Exception {
        Files.createDirectories(dir.resolve("store"));
        long size = (long) tib << 40;
        byte[] pool = new byte[64 * MIB];
        new Random(1).nextBytes(pool);
        ByteBuffer b = ByteBuffer.allocateDirect(MIB);
        long gib = 1L << 30;
        try (ChunkStore store = ChunkStore.init(new LocalBackend(dir.resolve("store"), false), StoreOptions.defaults())) {
            SnapshotId full = StoreFixtures.id("sparse", 0);
            long t0 = System.nanoTime();
            try (SnapshotWriter w = store.create(SnapshotSpec.full(full, List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                for (long g = 0; g < size / gib; g++) {
                    block(pool, g, b);
                    w.write(0, g * gib, b);
                    w.writeZeroes(0, g * gib + MIB, gib - MIB);
                }
                w.commit();
            }
            double write = secs(t0);
            t0 = System.nanoTime();
            VerifyReport v = store.verify(List.of(full));
            double verify = secs(t0);
            t0 = System.nanoTime();
            long holes = 0;
            try (SnapshotReader r = store.open(full)) {
                for (long pos = 0; pos < size;) {
                    Extent e = r.blockStatus(0, pos, size - pos);
                    holes += e.hole() ? e.length() : 0;
                    pos += e.length();
                }
            }
            double scan = secs(t0);
            t0 = System.nanoTime();
            try (SnapshotWriter w = store.create(new SnapshotSpec(StoreFixtures.id("sparse", 1),
                    List.of(new DiskSpec("d", size, true)), false, Map.of(), Optional.of(full)))) {
                block(pool, 12345, b);
                w.write(0, size / 3 / MIB * MIB, b);
                w.commit();
            }
            double inc = secs(t0);
            System.out.printf("sparse %d TiB (index %d MiB): write+commit %.2f s, verify %.2f s (%d chunks, ok=%b),"
                    + " block-status scan %.2f s (%d GiB holes), incremental %.2f s%n", tib, (size / MIB * 32) >> 20,
                    write, verify, v.chunksChecked(), v.ok(), scan, holes >> 30, inc);
        }
        deleteTree(dir);
    }

    private static double timed(String... cmd) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed");
        }
        return secs(t0);
    }

    private static void chunkSizes(Path dir, int mib, int changes) throws Exception {
        System.out.println("chunk size | objects (disk) | index bytes | stored by the incremental | per 4 KiB change");
        for (int cs : new int[] {256 << 10, 1 << 20, 4 << 20}) {
            Path d = dir.resolve("cs" + cs);
            byte[] pool = new byte[64 * MIB];
            new Random(1).nextBytes(pool);
            ByteBuffer b = ByteBuffer.allocateDirect(MIB);
            try (ChunkStore store = ChunkStore.init(d, StoreOptions.defaults().withChunkSize(cs))) {
                SnapshotId base = StoreFixtures.id("c", 0);
                long size = (long) mib * MIB;
                try (SnapshotWriter w = store.create(SnapshotSpec.full(base, List.of(DiskSpec.full("d", size)), false, Map.of()))) {
                    for (long i = 0; i < mib; i++) {
                        block(pool, i, b);
                        w.write(0, i * MIB, b);
                    }
                    w.commit();
                }
                long objects = count(d.resolve("chunks"));
                Random r = new Random(2);
                SnapshotInfo inc;
                try (SnapshotWriter w = store.create(new SnapshotSpec(StoreFixtures.id("c", 1),
                        List.of(new DiskSpec("d", size, true)), false, Map.of(), Optional.of(base)))) {
                    java.util.TreeSet<Long> at = new java.util.TreeSet<>();
                    while (at.size() < changes) {
                        at.add((long) r.nextInt((int) (size / 4096)) * 4096);
                    }
                    byte[] change = new byte[4096];
                    for (long off : at) {
                        r.nextBytes(change);
                        w.write(0, off, ByteBuffer.wrap(change));
                    }
                    inc = w.commit();
                }
                System.out.printf("%d KiB | %d | %d | %d | %.1f KiB (%.0fx)%n", cs >> 10, objects,
                        32L * ((size + cs - 1) / cs) + 32, inc.bytesNew(), inc.bytesNew() / 1024.0 / changes,
                        inc.bytesNew() / 4096.0 / changes);
            }
            deleteTree(d);
        }
    }

    private static long count(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
