package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A slow output makes writers wait (bounded memory); a failing output fails the writer cleanly. */
class WriterBackPressureTest {
    /** Blocks every write until released. */
    private static final class GatedChannel implements WritableByteChannel {
        final CountDownLatch gate = new CountDownLatch(1);
        final AtomicLong bytes = new AtomicLong();

        @Override
        public int write(ByteBuffer src) throws IOException {
            try {
                gate.await();
            } catch (InterruptedException e) {
                throw new IOException("interrupted", e);
            }
            int n = src.remaining();
            src.position(src.limit());
            bytes.addAndGet(n);
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void writerBlocksWhileTheOutputIsStuckAndFinishesWhenItMoves() throws Exception {
        GatedChannel out = new GatedChannel();
        long clusters = 2000;
        VmaWriter w = VmaWriter.builder().disk("d", clusters * 65536).bufferedExtents(2).open(out);
        VmaDevice d = w.device("d");
        ByteBuffer data = ByteBuffer.allocate(65536);
        data.put(0, (byte) 1);
        Thread producer = new Thread(() -> {
            for (long c = 0; c < clusters; c++) {
                w.write(d, c * 65536, data.duplicate());
            }
        });
        producer.start();
        // wait until the producer is parked waiting for a free extent buffer
        while (producer.getState() != Thread.State.TIMED_WAITING && producer.isAlive()) {
            Thread.sleep(5);
        }
        assertThat(producer.isAlive()).isTrue();
        long emitted = w.stats().devices().get(0).clusters();
        // header + at most: two pooled extents (one being written, one queued) and the current one
        assertThat(emitted).isLessThanOrEqualTo(3 * 58L).isLessThan(clusters);
        out.gate.countDown();
        producer.join(TimeUnit.SECONDS.toMillis(60));
        assertThat(producer.isAlive()).isFalse();
        w.close();
        assertThat(w.stats().devices().get(0).clusters()).isEqualTo(clusters);
        assertThat(out.bytes.get()).isEqualTo(w.stats().archiveBytes());
    }

    @Test
    void failingOutputFailsWritesAndClose() throws Exception {
        WritableByteChannel broken = new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) throws IOException {
                throw new IOException("disk full");
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
        VmaWriter w = VmaWriter.builder().disk("d", 1000 * 65536L).bufferedExtents(2).open(broken);
        VmaDevice d = w.device("d");
        assertThatThrownBy(() -> {
            for (long c = 0; c < 1000; c++) {
                w.write(d, c * 65536, ByteBuffer.allocate(65536).put(0, (byte) 1));
            }
        }).hasMessageContaining("disk full");
        assertThatThrownBy(w::close).hasMessageContaining("disk full");
    }
}
