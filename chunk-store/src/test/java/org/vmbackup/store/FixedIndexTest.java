package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The index off the heap: a writer's temporary-file index published by streaming and a reader's paged index,
 * against a model (the byte layout of FORMAT.md, "Fixed index", built here by hand), for random sizes around the
 * page boundaries, and the checks a paged reader makes (at open, and on every page it fetches again).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FixedIndexTest {
    private static final int P = FixedIndex.PAGE_DIGESTS;
    @TempDir
    Path tmp;

    /** FORMAT.md's layout, written independently of FixedIndex: what readers of existing stores rely on. */
    private static byte[] expected(long size, int chunk, byte[][] digests) {
        ByteBuffer b = ByteBuffer.allocate(32 + 32 * digests.length);
        b.put("VBFIDX01".getBytes(StandardCharsets.US_ASCII)).putLong(size).putInt(chunk).putInt(0).putLong(digests.length);
        for (byte[] d : digests) {
            b.put(d);
        }
        return b.array();
    }

    private static byte[][] randomDigests(Random r, int count) {
        byte[][] out = new byte[count][];
        for (int i = 0; i < count; i++) {
            out[i] = new byte[32];
            if (r.nextInt(3) != 0) { // a third holes
                r.nextBytes(out[i]);
            }
        }
        return out;
    }

    private LocalBackend backend() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("store"));
        return new LocalBackend(d, false);
    }

    /** Writes {@code digests} in random order (some slots first set to other digests, or to holes) and publishes. */
    private static String write(StoreBackend b, String name, long size, int chunk, byte[][] digests, Random r) throws IOException {
        try (FixedIndex w = FixedIndex.create(size, chunk)) {
            assertThat(w.count()).isEqualTo(digests.length);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < digests.length; i++) {
                order.add(i);
            }
            Collections.shuffle(order, r);
            for (int i : order) {
                if (r.nextInt(8) == 0) { // a spilled chunk stored once and then again: the slot is overwritten
                    byte[] other = new byte[32];
                    r.nextBytes(other);
                    w.set(i, other);
                }
                w.set(i, digests[i]);
                assertThat(w.digest(i)).isEqualTo(digests[i]);
                assertThat(w.isHole(i)).isEqualTo(Digests.isHole(digests[i]));
            }
            return w.publish(b, name);
        }
    }

    @Test
    void roundTripsAtAndAroundPageBoundariesInTheFormatsLayout() throws Exception {
        Random r = new Random(11);
        List<Integer> counts = new ArrayList<>(List.of(0, 1, 2, P - 1, P, P + 1, 2 * P, 3 * P + 5,
                FixedIndex.CACHE_PAGES * P, FixedIndex.CACHE_PAGES * P + 1,
                // the checking pass's blocks at open: one whole, one and a digest, two and a part of a page
                FixedIndex.OPEN_BLOCK_PAGES * P, FixedIndex.OPEN_BLOCK_PAGES * P + 1, 2 * FixedIndex.OPEN_BLOCK_PAGES * P + P / 2));
        for (int k = 0; k < 6; k++) {
            counts.add(r.nextInt(5 * P));
        }
        try (LocalBackend b = backend()) {
            int n = 0;
            for (int count : counts) {
                int chunk = StoreOptions.MIN_CHUNK_SIZE << r.nextInt(6);
                // a last chunk that is shorter, or whole
                long size = count == 0 ? 0 : (long) (count - 1) * chunk + (r.nextBoolean() ? chunk : 1 + r.nextInt(chunk));
                byte[][] digests = randomDigests(r, count);
                String name = "snapshots/v/i/disk-" + n++ + ".fidx";
                String sha = write(b, name, size, chunk, digests, r);
                byte[] stored = Files.readAllBytes(b.directory().resolve(name));
                assertThat(stored).as("count %d", count).isEqualTo(expected(size, chunk, digests));
                assertThat(sha).isEqualTo(Digests.hex(Digests.sha256(stored, 0, stored.length)));
                List<byte[]> seen = new ArrayList<>();
                FixedIndex.open(b, name, sha, "index " + count, d -> seen.add(d.clone())).close();
                assertThat(seen).as("digests seen during the check, count %d", count).containsExactly(digests);
                try (FixedIndex idx = FixedIndex.open(b, name, sha, "index " + count)) {
                    assertThat(idx.size()).isEqualTo(size);
                    assertThat(idx.chunkSize()).isEqualTo(chunk);
                    assertThat(idx.count()).isEqualTo(count);
                    for (int i = 0; i < count; i++) { // sequential
                        assertThat(idx.digest(i)).isEqualTo(digests[i]);
                    }
                    for (int k = 0; k < Math.min(count, 3000); k++) { // random: pages evicted and fetched again
                        int i = r.nextInt(count);
                        assertThat(idx.isHole(i)).isEqualTo(Digests.isHole(digests[i]));
                        assertThat(idx.digest(i)).isEqualTo(digests[i]);
                    }
                    if (count > 0) {
                        assertThat(idx.chunkLength(count - 1)).isEqualTo((int) (size - (long) (count - 1) * chunk));
                    }
                    assertThatThrownBy(() -> idx.digest(count)).isInstanceOf(IndexOutOfBoundsException.class);
                }
            }
        }
    }

    /** Runs written in one call (an incremental disk's inherited digests) land where single slots would. */
    @Test
    void runsOfSlotsWrittenAtOnceReadBackAsTheirDigests() throws Exception {
        Random r = new Random(8);
        int count = 3 * P + 11;
        byte[][] digests = randomDigests(r, count);
        try (LocalBackend b = backend(); FixedIndex w = FixedIndex.create((long) count << 16, 1 << 16)) {
            for (int first = 0; first < count;) {
                int n = Math.min(count - first, 1 + r.nextInt(P + 100)); // across page boundaries
                byte[] run = new byte[n * 32];
                for (int k = 0; k < n; k++) {
                    System.arraycopy(digests[first + k], 0, run, 32 * k, 32);
                }
                w.setRun(first, run, n);
                first += n;
            }
            assertThatThrownBy(() -> w.setRun(count - 1, new byte[64], 2)).isInstanceOf(IndexOutOfBoundsException.class);
            String sha = w.publish(b, "runs.fidx");
            assertThat(Files.readAllBytes(b.directory().resolve("runs.fidx"))).isEqualTo(expected((long) count << 16, 1 << 16, digests));
            try (FixedIndex idx = FixedIndex.open(b, "runs.fidx", sha, "runs")) {
                for (int i = 0; i < count; i++) {
                    assertThat(idx.digest(i)).isEqualTo(digests[i]);
                }
            }
        }
    }

    /** A backend with only the interface's defaults for streamed publishing (a third party's). */
    @Test
    void aBackendWithoutItsOwnStreamedPublishGetsTheSameObject() throws Exception {
        Random r = new Random(3);
        try (LocalBackend local = backend()) {
            StoreBackend plain = (StoreBackend) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {StoreBackend.class}, (proxy, m, args) -> {
                        if (m.isDefault()) {
                            return java.lang.reflect.InvocationHandler.invokeDefault(proxy, m, args);
                        }
                        try {
                            return m.invoke(local, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            byte[][] digests = randomDigests(r, P + 17);
            String sha = write(plain, "x.fidx", (long) digests.length << 20, 1 << 20, digests, r);
            assertThat(Files.readAllBytes(local.directory().resolve("x.fidx"))).isEqualTo(expected((long) digests.length << 20, 1 << 20, digests));
            try (FixedIndex idx = FixedIndex.open(plain, "x.fidx", sha, "x")) {
                assertThat(idx.digest(P + 16)).isEqualTo(digests[P + 16]);
            }
        }
    }

    private record Stored(LocalBackend backend, Path file, String sha, byte[][] digests) {
    }

    private Stored stored(int count) throws IOException {
        Random r = new Random(count);
        LocalBackend b = backend();
        byte[][] digests = randomDigests(r, count);
        for (byte[] d : digests) {
            d[0] = 1; // no holes: every slot tells pages apart
        }
        String sha = write(b, "i.fidx", (long) count << 16, 1 << 16, digests, r);
        return new Stored(b, b.directory().resolve("i.fidx"), sha, digests);
    }

    private static void rewrite(Path f, long pos, byte[] with) throws IOException {
        try (FileChannel ch = FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(with), pos);
        }
    }

    @Test
    void aPageChangedAfterTheCheckAtOpenIsAnErrorNeverOtherDigests() throws Exception {
        int count = (FixedIndex.CACHE_PAGES + 3) * P; // pages past the cache are fetched again
        Stored s = stored(count);
        try (FixedIndex idx = FixedIndex.open(s.backend(), "i.fidx", s.sha(), "the index")) {
            int victim = (FixedIndex.CACHE_PAGES + 1) * P + 5;
            byte[] other = s.digests()[0].clone(); // a real digest of the store, but not this slot's
            rewrite(s.file(), 32 + 32L * victim, other);
            assertThat(idx.digest(victim - 5 - P)).isEqualTo(s.digests()[victim - 5 - P]); // an unchanged page
            assertThatThrownBy(() -> idx.digest(victim)).isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("the index (i.fidx) changed since it was checked");
        }
    }

    @Test
    void anIndexRemovedAfterOpenIsNamedWhenAPageIsNeeded() throws Exception {
        int count = (FixedIndex.CACHE_PAGES + 1) * P + 1;
        Stored s = stored(count);
        try (FixedIndex idx = FixedIndex.open(s.backend(), "i.fidx", s.sha(), "the index")) {
            assertThat(idx.digest(0)).isEqualTo(s.digests()[0]); // seeded at open: no read
            Files.delete(s.file());
            assertThat(idx.digest(P)).isEqualTo(s.digests()[P]);
            assertThatThrownBy(() -> idx.digest(count - 1)).isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("is missing (removed since it was opened)");
        }
    }

    @Test
    void openChecksChecksumHeaderAndLength() throws Exception {
        Stored s = stored(P + 3);
        byte[] good = Files.readAllBytes(s.file());
        assertThatThrownBy(() -> FixedIndex.open(s.backend(), "none.fidx", s.sha(), "w")).isInstanceOf(CorruptDataException.class)
                .hasMessage("w (none.fidx) is missing");
        // cut short, one byte too long, a flipped digest byte: the manifest's checksum
        for (byte[] bad : List.of(java.util.Arrays.copyOf(good, good.length - 32), java.util.Arrays.copyOf(good, good.length + 1),
                flipped(good, 32 + 32 * P + 7))) {
            Files.write(s.file(), bad);
            assertThatThrownBy(() -> FixedIndex.open(s.backend(), "i.fidx", s.sha(), "w")).isInstanceOf(CorruptDataException.class)
                    .hasMessage("w (i.fidx) is damaged or truncated (checksum mismatch)");
            assertThatThrownBy(() -> FixedIndex.open(s.backend(), "i.fidx", s.sha(), "w", d -> { })) // gc's way
                    .isInstanceOf(CorruptDataException.class).hasMessage("w (i.fidx) is damaged or truncated (checksum mismatch)");
        }
        // damage that a matching checksum still lets through (a checksum taken of the damaged object) is found too
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 32);
        byte[] badCount = good.clone();
        ByteBuffer.wrap(badCount).putLong(24, P + 4);
        byte[] hugeCount = good.clone(); // 2^37 chunks: must not size anything before it is found wrong
        ByteBuffer.wrap(hugeCount).putLong(24, 1L << 37);
        byte[] badMagic = flipped(good, 0);
        for (var c : List.of(List.of(longer, "truncated or too long"), List.of(badCount, "damaged header"),
                List.of(hugeCount, "damaged header"),
                List.of(badMagic, "not a fixed index (bad header)"))) {
            byte[] bad = (byte[]) c.get(0);
            Files.write(s.file(), bad);
            String sha = Digests.hex(Digests.sha256(bad, 0, bad.length));
            assertThatThrownBy(() -> FixedIndex.open(s.backend(), "i.fidx", sha, "w")).isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining((String) c.get(1));
        }
        Files.write(s.file(), good);
        try (FixedIndex idx = FixedIndex.open(s.backend(), "i.fidx", s.sha(), "w")) {
            assertThat(idx.digest(P + 2)).isEqualTo(s.digests()[P + 2]);
        }
        s.backend().close();
    }

    private static byte[] flipped(byte[] b, int at) {
        byte[] c = b.clone();
        c[at] ^= 0x40;
        return c;
    }

    @Test
    void aTebibyteDisksIndexRoundTripsThroughTheStreamedPaths() throws Exception {
        // 1 TiB of disk at 1 MiB chunks: a 32 MiB index, all holes but two slots
        long size = 1L << 40;
        try (LocalBackend b = backend(); FixedIndex w = FixedIndex.create(size, 1 << 20)) {
            byte[] d = new byte[32];
            new Random(1).nextBytes(d);
            for (int i = 0; i < w.count(); i += 4096) {
                w.set(i, Digests.HOLE);
            }
            w.set(7, d);
            w.set(w.count() - 1, d);
            String sha = w.publish(b, "big.fidx");
            try (FixedIndex r = FixedIndex.open(b, "big.fidx", sha, "big")) {
                assertThat(r.count()).isEqualTo(1 << 20);
                assertThat(r.digest(w.count() - 1)).isEqualTo(d);
                assertThat(r.isHole(w.count() - 2)).isTrue();
                assertThat(r.digest(7)).isEqualTo(d);
            }
        }
    }
}
