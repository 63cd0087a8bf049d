package org.vmbackup.vma;

import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Not a test: VmaWriter throughput with N threads writing shuffled 64 KiB clusters (~40 % data) into a discarding
 * channel, against a plain memory copy of the same bytes in the same run. Run by benchmarks/vma-bench.sh:
 * {@code java -Xmx128m -cp vma-format/target/classes:vma-format/target/test-classes:ZSTD_JAR
 * org.vmbackup.vma.WriterThroughputBench 4 4096}
 */
public final class WriterThroughputBench {
    private WriterThroughputBench() {
    }

    /** Args: threads, MiB of device. */
    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        long mib = Long.parseLong(args[1]);
        long size = mib << 20;
        int clusters = (int) (size >>> 16);
        ByteBuffer data = ByteBuffer.allocateDirect(64 << 20);
        Random r = new Random(1);
        byte[] chunk = new byte[65536];
        for (int at = 0; at < data.capacity(); at += 65536) {
            r.nextBytes(chunk);
            data.put(at, chunk);
        }
        boolean[] dataCluster = new boolean[clusters];
        for (int c = 0; c < clusters; c++) {
            dataCluster[c] = r.nextInt(10) < 4;
        }
        List<Integer> order = new ArrayList<>();
        for (int c = 0; c < clusters; c++) {
            order.add(c);
        }
        Collections.shuffle(order, r);
        ByteBuffer zero = ByteBuffer.allocateDirect(65536);
        for (int round = 0; round < 3; round++) {
            long copyNanos = copyLimit(data, clusters, dataCluster, order);
            WritableByteChannel sink = new WritableByteChannel() {
                @Override
                public int write(ByteBuffer src) {
                    int n = src.remaining();
                    src.position(src.limit());
                    return n;
                }

                @Override
                public boolean isOpen() {
                    return true;
                }

                @Override
                public void close() {
                }
            };
            long t0 = System.nanoTime();
            VmaWriter w = VmaWriter.builder().disk("d", size).open(sink);
            VmaDevice d = w.device("d");
            AtomicInteger next = new AtomicInteger();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> {
                    for (int i = next.getAndIncrement(); i < clusters; i = next.getAndIncrement()) {
                        int c = order.get(i);
                        ByteBuffer src = dataCluster[c] ? data.slice((c % 1024) * 65536, 65536)
                                : zero.duplicate();
                        w.write(d, (long) c << 16, src);
                    }
                });
                th.start();
                ts.add(th);
            }
            for (Thread th : ts) {
                th.join();
            }
            w.close();
            long nanos = System.nanoTime() - t0;
            System.out.printf("round %d: writer %d threads %.0f MB/s, memory copy of the same clusters %.0f MB/s, "
                    + "ratio %.2f%n", round, threads, size / (nanos / 1e9) / 1e6, size / (copyNanos / 1e9) / 1e6,
                    (double) copyNanos / nanos);
        }
    }

    private static long copyLimit(ByteBuffer data, int clusters, boolean[] dataCluster, List<Integer> order) {
        ByteBuffer dst = ByteBuffer.allocateDirect(4 << 20);
        ByteBuffer zero = ByteBuffer.allocateDirect(65536);
        long t0 = System.nanoTime();
        for (int i = 0; i < clusters; i++) {
            int c = order.get(i);
            ByteBuffer src = dataCluster[c] ? data.slice((c % 1024) * 65536, 65536) : zero.duplicate();
            dst.put((i % 64) * 65536, src, 0, 65536);
        }
        return System.nanoTime() - t0;
    }
}
