package org.vmbackup.vma;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Test helper: random device images and archives written from them in random order on several threads. */
final class ArchiveFixtures {
    private ArchiveFixtures() {
    }

    /** A random image: per 4 KiB block zero, random, or partly zero. */
    static byte[] randomImage(Random r, int size) {
        byte[] img = new byte[size];
        int zeroPercent = r.nextInt(101);
        for (int at = 0; at < size; at += 4096) {
            int end = Math.min(size, at + 4096);
            int kind = r.nextInt(100);
            if (kind < zeroPercent) {
                continue;
            }
            int from = kind % 3 == 0 ? at + r.nextInt(end - at) : at;
            for (int i = from; i < end; i++) {
                img[i] = (byte) r.nextInt();
            }
        }
        return img;
    }

    private record Piece(String device, long offset, int length, boolean declareZero) {
    }

    /**
     * Writes the images (by name, in order) into an archive: random piece boundaries, zero pieces declared with
     * writeZeroes when they are all zero, pieces shuffled and spread over {@code threads} threads.
     */
    static byte[] write(Random r, Map<String, byte[]> images, int clustersPerExtent, int threads) throws Exception {
        VmaWriter.Builder b = VmaWriter.builder().clustersPerExtent(clustersPerExtent).bufferedExtents(2)
                .config("qemu-server.conf", ("seed " + r.nextLong()).getBytes());
        images.forEach((name, img) -> b.disk(name, img.length));
        List<Piece> pieces = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : images.entrySet()) {
            byte[] img = e.getValue();
            long at = 0;
            while (at < img.length) {
                int len = r.nextInt(4) == 0 ? 1 + r.nextInt(70_000)
                        : (int) Math.min(img.length - at, 65536L * (1 + r.nextInt(3)) - (at & 65535));
                len = (int) Math.min(len, img.length - at);
                boolean zero = true;
                for (int i = 0; i < len && zero; i++) {
                    zero = img[(int) at + i] == 0;
                }
                pieces.add(new Piece(e.getKey(), at, len, zero && r.nextBoolean()));
                at += len;
            }
        }
        Collections.shuffle(pieces, r);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VmaWriter w = b.open(Channels.newChannel(out));
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int me = t;
                fs.add(pool.submit(() -> {
                    for (int i = me; i < pieces.size(); i += threads) {
                        Piece p = pieces.get(i);
                        VmaDevice d = w.device(p.device());
                        if (p.declareZero()) {
                            w.writeZeroes(d, p.offset(), p.length());
                        } else {
                            w.write(d, p.offset(), ByteBuffer.wrap(images.get(p.device()), (int) p.offset(), p.length()));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        w.close();
        return out.toByteArray();
    }

    /** Random device set: 1..maxDevices devices of random (mostly unaligned) sizes. */
    static Map<String, byte[]> randomImages(Random r, int maxDevices, int maxSize) {
        Map<String, byte[]> images = new LinkedHashMap<>();
        int n = 1 + r.nextInt(maxDevices);
        for (int i = 0; i < n; i++) {
            int size = 1 + r.nextInt(maxSize);
            if (r.nextInt(4) == 0) {
                size = (size + 511) & ~511;
            }
            images.put("drive-scsi" + i, randomImage(r, size));
        }
        return images;
    }
}
