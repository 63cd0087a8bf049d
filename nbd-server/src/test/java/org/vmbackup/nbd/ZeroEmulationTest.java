package org.vmbackup.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ZeroEmulationTest {
    /** Counts written bytes, checking they are zero; fails at a chosen offset. */
    static final class CountingBackend implements NbdBackend {
        final AtomicLong written = new AtomicLong();
        final long failAt;
        final boolean async;

        CountingBackend(long failAt, boolean async) {
            this.failAt = failAt;
            this.async = async;
        }

        @Override
        public long size() {
            return 1L << 40;
        }

        @Override
        public CompletableFuture<ByteBuf> read(long offset, int length) {
            return CompletableFuture.completedFuture(Unpooled.buffer(length).writeZero(length));
        }

        @Override
        public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
            if (offset == failAt) {
                return CompletableFuture.failedFuture(new NbdBackendException(NbdErrno.ENOSPC, "full"));
            }
            if (data.getByte(data.readerIndex()) != 0) {
                throw new AssertionError("not zero");
            }
            written.addAndGet(data.readableBytes());
            return async ? CompletableFuture.runAsync(() -> { }) : CompletableFuture.completedFuture(null);
        }
    }

    @Test
    void gigabytesOfSynchronousWritesDoNotRecurse() {
        CountingBackend b = new CountingBackend(-1, false);
        b.zero(0, 8L << 30, false, true, false).join();
        assertThat(b.written.get()).isEqualTo(8L << 30);
    }

    @Test
    void asynchronousWritesCoverTheRangeIncludingAPartialTail() {
        CountingBackend b = new CountingBackend(-1, true);
        b.zero(4096, (5L << 20) + 123, false, true, false).join();
        assertThat(b.written.get()).isEqualTo((5L << 20) + 123);
    }

    @Test
    void aFailedChunkFailsTheWholeZero() {
        CountingBackend b = new CountingBackend(2L << 20, false);
        assertThatThrownBy(() -> b.zero(0, 8L << 20, false, true, false).join())
                .isInstanceOf(CompletionException.class).hasCauseInstanceOf(NbdBackendException.class);
        assertThat(b.written.get()).isEqualTo(2L << 20);
    }

    @Test
    void fastZeroIsRefusedWithoutTouchingData() {
        CountingBackend b = new CountingBackend(-1, false);
        assertThatThrownBy(() -> b.zero(0, 1 << 20, false, true, true).join())
                .hasCauseInstanceOf(NbdBackendException.class);
        assertThat(b.written.get()).isZero();
    }
}
