package org.vmbackup.store.s3;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.DiskSpec;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.SnapshotReader;
import org.vmbackup.store.SnapshotSpec;
import org.vmbackup.store.SnapshotWriter;

/** Disk images for the store tests: written in pieces from several threads, read back whole. */
final class Images {
    private Images() {
    }

    /** Random bytes, zero runs and repeated text, so that chunks compress differently and some are holes. */
    static byte[] image(Random r, int size) {
        byte[] out = new byte[size];
        int pos = 0;
        while (pos < size) {
            int len = Math.min(size - pos, 1 + r.nextInt(100_000));
            switch (r.nextInt(3)) {
                case 0 -> {
                    byte[] b = new byte[len];
                    r.nextBytes(b);
                    System.arraycopy(b, 0, out, pos, len);
                }
                case 1 -> {
                    // zeros
                }
                default -> {
                    for (int i = 0; i < len; i++) {
                        out[pos + i] = (byte) "s3 chunk ".charAt(i % 9);
                    }
                }
            }
            pos += len;
        }
        return out;
    }

    /** Writes {@code img} as disk 0 of snapshot {@code id} in 64 KiB pieces on 4 threads, and commits. */
    static SnapshotInfo write(ChunkStore store, SnapshotId id, byte[] img) throws Exception {
        try (SnapshotWriter w = store.create(SnapshotSpec.full(id, List.of(DiskSpec.full("drive-scsi0", img.length)),
                false, java.util.Map.of("qemu-server.conf", "memory: 512\n".getBytes())))) {
            ExecutorService ex = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int off = 0; off < img.length; off += 65536) {
                    int o = off;
                    int len = Math.min(65536, img.length - off);
                    fs.add(ex.submit(() -> {
                        w.write(0, o, ByteBuffer.wrap(img, o, len));
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                ex.shutdownNow();
            }
            return w.commit();
        }
    }

    static byte[] read(ChunkStore store, SnapshotId id) throws IOException {
        try (SnapshotReader r = store.open(id)) {
            int size = (int) r.info().disks().get(0).size();
            byte[] out = new byte[size];
            int pos = 0;
            while (pos < size) {
                int n = r.read(0, pos, ByteBuffer.wrap(out, pos, Math.min(300_000, size - pos)));
                if (n <= 0) {
                    throw new IOException("short read at " + pos);
                }
                pos += n;
            }
            return out;
        }
    }
}
