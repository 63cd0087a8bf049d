package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class ReadAheadChannelTest {
    /** A source handing out {@code data} in reads of at most {@code step} bytes, then failing or ending. */
    private static ReadableByteChannel source(byte[] data, int step, RuntimeException failAtEnd, AtomicBoolean closed) {
        return new ReadableByteChannel() {
            int at;

            @Override
            public int read(ByteBuffer dst) {
                if (at == data.length) {
                    if (failAtEnd != null) {
                        throw failAtEnd;
                    }
                    return -1;
                }
                int n = Math.min(Math.min(step, dst.remaining()), data.length - at);
                dst.put(data, at, n);
                at += n;
                return n;
            }

            @Override
            public boolean isOpen() {
                return !closed.get();
            }

            @Override
            public void close() {
                closed.set(true);
            }
        };
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    @Test
    void passesEveryByteInOrderThroughReadsOfAnySize() throws IOException {
        byte[] data = random(5 * 1000 + 17);
        AtomicBoolean closed = new AtomicBoolean();
        ByteBuffer out = ByteBuffer.allocate(data.length + 10);
        try (ReadAheadChannel ch = new ReadAheadChannel(source(data, 333, null, closed), 3, 1000, "t")) {
            int[] sizes = {1, 999, 2500, 7, 4096};
            for (int i = 0; ; i++) {
                ByteBuffer dst = ByteBuffer.allocateDirect(sizes[i % sizes.length]);
                int n = ch.read(dst);
                if (n < 0) {
                    break;
                }
                out.put(dst.flip());
            }
            assertThat(ch.read(ByteBuffer.allocate(8))).isEqualTo(-1);
        }
        assertThat(out.flip().remaining()).isEqualTo(data.length);
        byte[] got = new byte[data.length];
        out.get(got);
        assertThat(got).isEqualTo(data);
        assertThat(closed).isTrue();
    }

    @Test
    void aSourceFailureComesAfterTheBytesBeforeItAndKeepsItsType() throws IOException {
        byte[] data = random(2500);
        VmaFormatException corrupt = new VmaFormatException("offset 2500: corrupt zstd stream");
        try (ReadAheadChannel ch = new ReadAheadChannel(source(data, 100, corrupt, new AtomicBoolean()), 2, 1000, "t")) {
            ByteBuffer all = ByteBuffer.allocate(4000);
            assertThatThrownBy(() -> {
                while (true) {
                    ch.read(all);
                }
            }).isSameAs(corrupt);
            assertThat(all.position()).isEqualTo(2500);
        }
    }

    @Test
    void closeStopsAWorkerWaitingForRoomAndClosesTheSource() throws Exception {
        AtomicBoolean closed = new AtomicBoolean();
        CountDownLatch reading = new CountDownLatch(1);
        ReadableByteChannel endless = new ReadableByteChannel() {
            @Override
            public int read(ByteBuffer dst) {
                reading.countDown();
                int n = dst.remaining();
                dst.position(dst.limit());
                return n;
            }

            @Override
            public boolean isOpen() {
                return !closed.get();
            }

            @Override
            public void close() {
                closed.set(true);
            }
        };
        ReadAheadChannel ch = new ReadAheadChannel(endless, 2, 64, "t");
        assertThat(ch.read(ByteBuffer.allocate(10))).isEqualTo(10);
        assertThat(reading.await(5, TimeUnit.SECONDS)).isTrue();
        ch.close();
        assertThat(closed).isTrue();
        assertThat(ch.isOpen()).isFalse();
        assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(1))).isInstanceOf(java.nio.channels.ClosedChannelException.class);
    }
}
