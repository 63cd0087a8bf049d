package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Random disk images and ways of writing and reading them through a store, shared by the tests. */
final class StoreFixtures {
    static final int SMALL_CHUNK = StoreOptions.MIN_CHUNK_SIZE;

    private StoreFixtures() {
    }

    static SnapshotId id(String vm, int minute) {
        return new SnapshotId(vm, Instant.parse("2026-12-06T00:00:00Z").plusSeconds(60L * minute));
    }

    /** A disk image of runs: random bytes, zeros, and compressible text, with random run lengths. */
    static byte[] image(Random r, int size) {
        byte[] out = new byte[size];
        int pos = 0;
        while (pos < size) {
            int len = Math.min(size - pos, 1 + r.nextInt(r.nextBoolean() ? 512 : 150_000));
            switch (r.nextInt(3)) {
                case 0 -> {
                    byte[] b = new byte[len];
                    r.nextBytes(b);
                    System.arraycopy(b, 0, out, pos, len);
                }
                case 1 -> {
                    // zeros: already
                }
                default -> {
                    for (int i = 0; i < len; i++) {
                        out[pos + i] = (byte) ("vmbackup ".charAt(i % 9));
                    }
                }
            }
            pos += len;
        }
        return out;
    }

    /** A piece of a disk write: where, and whether it goes as zeroes. */
    record Piece(long offset, int length, boolean zero) {
    }

    /** Cuts {@code image} into pieces of random lengths and alignments, in random order. */
    static List<Piece> pieces(Random r, byte[] image) {
        List<Piece> out = new ArrayList<>();
        int pos = 0;
        while (pos < image.length) {
            int len = Math.min(image.length - pos, 1 + r.nextInt(r.nextInt(4) == 0 ? 300_000 : 70_000));
            boolean zero = allZero(image, pos, len) && r.nextBoolean();
            out.add(new Piece(pos, len, zero));
            pos += len;
        }
        Collections.shuffle(out, r);
        return out;
    }

    static boolean allZero(byte[] b, int from, int len) {
        for (int i = from; i < from + len; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** Writes the pieces of each disk on {@code threads} threads at once (direct buffers and heap ones). */
    static void writeAll(SnapshotWriter w, List<byte[]> disks, Random r, int threads) throws Exception {
        List<Runnable> jobs = new ArrayList<>();
        for (int d = 0; d < disks.size(); d++) {
            byte[] img = disks.get(d);
            int disk = d;
            for (Piece p : pieces(r, img)) {
                boolean direct = r.nextBoolean();
                jobs.add(() -> {
                    try {
                        if (p.zero()) {
                            w.writeZeroes(disk, p.offset(), p.length());
                        } else {
                            ByteBuffer b = direct ? ByteBuffer.allocateDirect(p.length()) : ByteBuffer.allocate(p.length());
                            b.put(img, (int) p.offset(), p.length()).flip();
                            w.write(disk, p.offset(), b);
                            assertThat(b.hasRemaining()).isFalse();
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
        }
        Collections.shuffle(jobs, r);
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> fs = new ArrayList<>();
            jobs.forEach(j -> fs.add(ex.submit(j)));
            for (Future<?> f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            ex.shutdownNow();
        }
    }

    /** The whole disk through {@link SnapshotReader#read}, in reads of random lengths. */
    static byte[] readAll(SnapshotReader reader, int disk, Random r) throws IOException {
        int size = (int) reader.info().disks().get(disk).size();
        byte[] out = new byte[size];
        int pos = 0;
        while (pos < size) {
            int len = Math.min(size - pos, 1 + r.nextInt(200_000));
            ByteBuffer b = ByteBuffer.wrap(out, pos, len);
            int n = reader.read(disk, pos, b);
            assertThat(n).isEqualTo(len);
            pos += n;
        }
        assertThat(reader.read(disk, size, ByteBuffer.allocate(1))).isEqualTo(-1);
        return out;
    }

    static byte[] readStream(java.nio.channels.ReadableByteChannel ch) throws IOException {
        var out = new java.io.ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(77_777);
        while (ch.read(b) >= 0) {
            out.write(b.array(), 0, b.position());
            b.clear();
        }
        return out.toByteArray();
    }
}
