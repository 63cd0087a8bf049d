package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Mutated archives (bit flips, truncations at and inside extent boundaries, swapped and duplicated extents, garbage)
 * either decode to exactly the original content or are rejected with VmaFormatException; nothing else is thrown.
 * Payload blocks carry no checksum in the format, so a flipped payload bit must change exactly that one byte.
 */
class CorruptionTest {
    private static final long BUDGET_NANOS = 20_000_000_000L;

    private record Original(byte[] archive, Map<String, byte[]> images, long headerSize, List<int[]> extents) {
    }

    /** Extents as [start, length, payloadStart]. */
    private static Original analyse(byte[] archive) throws Exception {
        List<int[]> extents = new ArrayList<>();
        ArchiveImages img;
        long headerSize;
        try (VmaReader r = VmaReader.open(new ByteArrayInputStream(archive))) {
            headerSize = r.header().headerSize();
            img = ArchiveImages.decode(r);
        }
        ByteBuffer b = ByteBuffer.wrap(archive);
        int at = (int) headerSize;
        while (at < archive.length) {
            int blocks = b.getShort(at + 6) & 0xFFFF;
            extents.add(new int[] {at, 512 + blocks * 4096});
            at += 512 + blocks * 4096;
        }
        return new Original(archive, img.images, headerSize, extents);
    }

    private enum Outcome { SAME, REJECTED, ONE_BYTE_DIFFERS }

    private static Outcome decode(Original o, byte[] mutant, int flippedAt) {
        ArchiveImages got;
        try (VmaReader r = VmaReader.open(new ByteArrayInputStream(mutant))) {
            got = ArchiveImages.decode(r);
        } catch (VmaFormatException e) {
            return Outcome.REJECTED;
        } catch (Exception e) {
            throw new AssertionError("mutant threw " + e, e);
        }
        int differing = 0;
        for (Map.Entry<String, byte[]> e : o.images().entrySet()) {
            byte[] g = got.images.get(e.getKey());
            assertThat(g).as("device %s", e.getKey()).isNotNull().hasSameSizeAs(e.getValue());
            for (int i = 0; i < g.length; i++) {
                if (g[i] != e.getValue()[i]) {
                    differing++;
                }
            }
        }
        assertThat(got.images.keySet()).isEqualTo(o.images().keySet());
        if (differing == 0) {
            return Outcome.SAME;
        }
        boolean inPayload = false;
        for (int[] x : o.extents()) {
            inPayload |= flippedAt >= x[0] + 512 && flippedAt < x[0] + x[1];
        }
        if (differing == 1 && inPayload) {
            return Outcome.ONE_BYTE_DIFFERS;
        }
        return fail("mutant decoded to different content (" + differing + " bytes differ, mutated offset "
                + flippedAt + ")");
    }

    private static byte[] concat(byte[] a, int aFrom, int aTo, byte[]... rest) {
        int len = aTo - aFrom;
        for (byte[] r : rest) {
            len += r.length;
        }
        byte[] out = new byte[len];
        System.arraycopy(a, aFrom, out, 0, aTo - aFrom);
        int at = aTo - aFrom;
        for (byte[] r : rest) {
            System.arraycopy(r, 0, out, at, r.length);
            at += r.length;
        }
        return out;
    }

    private static byte[] swap(byte[] a, int[] x, int[] y) {
        // x before y, both whole extents
        byte[] xb = Arrays.copyOfRange(a, x[0], x[0] + x[1]);
        byte[] yb = Arrays.copyOfRange(a, y[0], y[0] + y[1]);
        byte[] mid = Arrays.copyOfRange(a, x[0] + x[1], y[0]);
        byte[] tail = Arrays.copyOfRange(a, y[0] + y[1], a.length);
        return concat(a, 0, x[0], yb, mid, xb, tail);
    }

    @Test
    void everyMutantDecodesToTheOriginalOrIsRejected() throws Exception {
        Random r = new Random(42);
        List<Original> originals = new ArrayList<>();
        for (String v : new String[] {"two-disks", "config-only", "zero-disk", "sector-aligned"}) {
            originals.add(analyse(Files.readAllBytes(VectorsTest.vector(v + ".vma"))));
        }
        originals.add(analyse(ArchiveFixtures.write(r, ArchiveFixtures.randomImages(r, 3, 300_000), 5, 2)));
        int[] counts = new int[Outcome.values().length];
        long deadline = System.nanoTime() + BUDGET_NANOS;
        int mutants = 0;
        // Deterministic part: truncation at every extent boundary and just inside every extent.
        for (Original o : originals) {
            for (int[] x : o.extents()) {
                for (int cut : new int[] {x[0], x[0] + 1, x[0] + 511, x[0] + 512, x[0] + x[1] - 1}) {
                    if (cut < o.archive().length) {
                        counts[decode(o, Arrays.copyOf(o.archive(), cut), -1).ordinal()]++;
                        mutants++;
                    }
                }
            }
            for (int cut : new int[] {0, 1, 4, 12287, 12288, (int) o.headerSize() - 1}) {
                counts[decode(o, Arrays.copyOf(o.archive(), cut), -1).ordinal()]++;
                mutants++;
            }
        }
        // Random part until the budget is used up.
        while (System.nanoTime() < deadline && mutants < 20_000) {
            Original o = originals.get(r.nextInt(originals.size()));
            byte[] a = o.archive();
            List<int[]> ex = o.extents();
            int kind = r.nextInt(10);
            byte[] m;
            int flipped = -1;
            if (kind < 5) {
                m = a.clone();
                // half the flips hit the header or an extent header, where they must be caught
                if (r.nextBoolean()) {
                    int[] x = ex.get(r.nextInt(ex.size()));
                    flipped = r.nextBoolean() ? r.nextInt((int) o.headerSize()) : x[0] + r.nextInt(512);
                } else {
                    flipped = r.nextInt(a.length);
                }
                m[flipped] ^= (byte) (1 << r.nextInt(8));
            } else if (kind == 5) {
                m = Arrays.copyOf(a, r.nextInt(a.length));
            } else if (kind == 6 && ex.size() >= 2) {
                int i = r.nextInt(ex.size() - 1);
                int j = i + 1 + r.nextInt(ex.size() - 1 - i);
                m = swap(a, ex.get(i), ex.get(j));
            } else if (kind == 7) {
                int[] x = ex.get(r.nextInt(ex.size()));
                int[] y = ex.get(r.nextInt(ex.size()));
                m = concat(a, 0, y[0] + y[1], Arrays.copyOfRange(a, x[0], x[0] + x[1]),
                        Arrays.copyOfRange(a, y[0] + y[1], a.length));
            } else if (kind == 8) {
                byte[] junk = new byte[1 + r.nextInt(2000)];
                r.nextBytes(junk);
                m = concat(a, 0, a.length, junk);
            } else {
                m = a.clone();
                int at = r.nextInt(a.length);
                int len = Math.min(a.length - at, 1 + r.nextInt(600));
                byte[] junk = new byte[len];
                r.nextBytes(junk);
                System.arraycopy(junk, 0, m, at, len);
                boolean payloadOnly = false;
                for (int[] x : ex) {
                    payloadOnly |= at >= x[0] + 512 && at + len <= x[0] + x[1];
                }
                if (payloadOnly) {
                    continue; // unchecksummed data by design; single-byte payload flips are covered above
                }
            }
            counts[decode(o, m, flipped).ordinal()]++;
            mutants++;
        }
        System.out.println("CorruptionTest: " + mutants + " mutants, outcomes " + Arrays.toString(Outcome.values())
                + " = " + Arrays.toString(counts));
        assertThat(mutants).isGreaterThan(1000);
        assertThat(counts[Outcome.REJECTED.ordinal()]).isGreaterThan(500);
        assertThat(counts[Outcome.SAME.ordinal()]).isGreaterThan(0);
    }

    @Test
    void compressedMutantsDecodeToTheOriginalOrAreRejected(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        Random r = new Random(43);
        Map<String, byte[]> images = ArchiveFixtures.randomImages(r, 2, 200_000);
        Original plain = analyse(ArchiveFixtures.write(r, images, 5, 1));
        int mutants = 0;
        int rejected = 0;
        long deadline = System.nanoTime() + 6_000_000_000L;
        for (String name : new String[] {"m.vma.gz", "m.vma.zst"}) {
            java.nio.file.Path p = dir.resolve(name);
            try (java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(p,
                    java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
                    java.nio.channels.WritableByteChannel c = VmaCompression.forFileName(p).compress(out, 3, 0)) {
                c.write(ByteBuffer.wrap(plain.archive()));
            }
            byte[] packed = Files.readAllBytes(p);
            assertThat(decode(plain, packed, -1)).isEqualTo(Outcome.SAME);
            for (int i = 0; i < 1500 && System.nanoTime() < deadline; i++) {
                byte[] m;
                if (r.nextBoolean()) {
                    m = packed.clone();
                    m[r.nextInt(m.length)] ^= (byte) (1 << r.nextInt(8));
                } else {
                    m = Arrays.copyOf(packed, r.nextInt(packed.length));
                }
                Outcome o = decode(plain, m, -1);
                mutants++;
                if (o == Outcome.REJECTED) {
                    rejected++;
                }
            }
        }
        assertThat(mutants).isGreaterThan(100);
        assertThat(rejected).isGreaterThan(mutants / 2);
    }
}
