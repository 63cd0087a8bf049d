package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveSink;
import org.vmbackup.core.BackupException;
import org.vmbackup.nbd.NbdBackendException;

class ArchiveExportBackendTest {
    private final ExecutorService exec = Executors.newFixedThreadPool(2);
    private final List<String> calls = new ArrayList<>();
    private final List<BackupException> failures = new ArrayList<>();
    private volatile IOException failWith;
    private final CountDownLatch gate = new CountDownLatch(1);
    private volatile boolean gated;

    private final ArchiveSink sink = new ArchiveSink() {
        @Override
        public void write(int disk, long offset, ByteBuffer data) throws IOException {
            await();
            byte[] b = new byte[data.remaining()];
            data.get(b);
            synchronized (calls) {
                calls.add("write " + disk + " " + offset + " " + new String(b));
            }
        }

        @Override
        public void writeZeroes(int disk, long offset, long length) throws IOException {
            await();
            synchronized (calls) {
                calls.add("zero " + disk + " " + offset + " " + length);
            }
        }

        private void await() throws IOException {
            if (failWith != null) {
                throw failWith;
            }
            if (gated) {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
        }

        @Override
        public WritableByteChannel vmstateChannel() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void commit() {
        }

        @Override
        public void abort() {
        }

        @Override
        public String describe() {
            return "test-sink";
        }
    };

    private final DiskCounters counters = new DiskCounters();
    private final PauseStaging staging = new PauseStaging(3);
    private final GuestFirstGuard guard = new GuestFirstGuard(Duration.ofMillis(300), failures::add);
    private final ArchiveExportBackend backend = new ArchiveExportBackend(sink, 1, new ArchiveDisk("drive-x", 1 << 20),
            exec, counters, guard, staging);

    @AfterEach
    void stop() {
        gate.countDown();
        exec.shutdownNow();
        guard.close();
    }

    @Test
    void writesAndZeroesReachTheSinkAndAreCounted() throws Exception {
        ByteBuf data = Unpooled.copiedBuffer("hello".getBytes());
        backend.write(4096, data, false).get(5, TimeUnit.SECONDS);
        CompositeByteBuf comp = Unpooled.compositeBuffer();
        comp.addComponents(true, Unpooled.copiedBuffer("ab".getBytes()), Unpooled.copiedBuffer("cd".getBytes()));
        backend.write(0, comp, false).get(5, TimeUnit.SECONDS);
        backend.zero(8192, 65536, false, true, true).get(5, TimeUnit.SECONDS);
        backend.flush().get(5, TimeUnit.SECONDS);
        assertThat(calls).containsExactly("write 1 4096 hello", "write 1 0 ab", "write 1 2 cd", "zero 1 8192 65536");
        assertThat(counters.dataBytes()).isEqualTo(9);
        assertThat(counters.zeroBytes()).isEqualTo(65536);
        assertThat(backend.size()).isEqualTo(1 << 20);
        assertThat(backend.canFastZero()).isTrue();
        assertThat(backend.canWrite()).isTrue();
        data.release();
        comp.release();
    }

    @Test
    void theNbdFutureCompletesOnlyOnceTheSinkTookTheData() throws Exception {
        gated = true;
        ByteBuf data = Unpooled.copiedBuffer("x".getBytes());
        CompletableFuture<Void> f = backend.write(0, data, false);
        Thread.sleep(50);
        assertThat(f).isNotDone();
        gate.countDown();
        f.get(5, TimeUnit.SECONDS);
        data.release();
    }

    @Test
    void whileStagingWritesAreAcknowledgedAtOnceWithinTheBudgetAndStoredAfterwards() throws Exception {
        staging.open();
        ByteBuf a = Unpooled.copiedBuffer("ab".getBytes());
        ByteBuf b = Unpooled.copiedBuffer("cd".getBytes());
        CompletableFuture<Void> fa = backend.write(0, a, false);
        assertThat(fa).isDone();
        a.release(); // the server's reference; the backend holds its own until stored
        assertThat(a.refCnt()).isEqualTo(1);
        backend.write(2, b, false).get(5, TimeUnit.SECONDS); // over the 3-byte budget: stored at once
        b.release();
        assertThat(calls).containsExactly("write 1 2 cd");
        assertThat(staging.stagedBytes()).isEqualTo(2);
        CompletableFuture<Void> drained = staging.drained();
        Thread.sleep(50);
        assertThat(drained).isNotDone();
        staging.close();
        drained.get(5, TimeUnit.SECONDS);
        for (int i = 0; i < 100 && staging.stagedBytes() != 0; i++) {
            Thread.sleep(10); // the budget is returned right after the drained future completes
        }
        assertThat(a.refCnt()).isZero();
        assertThat(staging.stagedBytes()).isZero();
        assertThat(calls).containsExactly("write 1 2 cd", "write 1 0 ab");
    }

    @Test
    void aStagedWriteThatFailsIsReportedToTheSession() throws Exception {
        failWith = new IOException("disk gone");
        staging.open();
        ByteBuf a = Unpooled.copiedBuffer("ab".getBytes());
        assertThat(backend.write(0, a, false)).isCompleted();
        a.release();
        staging.close();
        staging.drained().get(5, TimeUnit.SECONDS);
        assertThat(failures).singleElement().satisfies(e -> assertThat(e.getMessage()).contains("disk gone"));
        assertThat(a.refCnt()).isZero();
    }

    @Test
    void aSinkFailureIsAcknowledgedAsSuccessReportedWithDiskAndOffsetAndLaterDataIsDropped() throws Exception {
        failWith = new IOException("No space left on device");
        ByteBuf data = Unpooled.copiedBuffer("x".getBytes());
        backend.write(65536, data, false).get(5, TimeUnit.SECONDS); // an error would fail the guest's write
        assertThat(failures).singleElement().satisfies(e -> assertThat(e.getMessage())
                .contains("drive-x").contains("offset 65536").contains("No space left").contains("test-sink"));
        assertThat(guard.dropping()).isTrue();
        failWith = null;
        ByteBuf later = Unpooled.copiedBuffer("y".getBytes());
        assertThat(backend.write(0, later, false)).isCompleted();
        assertThat(backend.zero(0, 4096, false, true, true)).isCompleted();
        assertThat(backend.writeTarget(0, 4096)).isNull();
        assertThat(calls).as("nothing reaches an archive that was given up").isEmpty();
        data.release();
        later.release();
        assertThat(data.refCnt()).isZero();
        assertThatThrownBy(() -> backend.read(0, 1).get()).cause().isInstanceOf(NbdBackendException.class)
                .hasMessageContaining("write-only");
    }

    @Test
    void aStalledSinkIsAnsweredAfterTheLimitAndEveryPendingRequestWithIt() throws Exception {
        gated = true;
        ByteBuf a = Unpooled.copiedBuffer("a".getBytes());
        long t0 = System.nanoTime();
        CompletableFuture<Void> fa = backend.write(0, a, false);
        Thread.sleep(200);
        ByteBuf b = Unpooled.copiedBuffer("b".getBytes());
        CompletableFuture<Void> fb = backend.write(1, b, false); // the second sink thread: stalled too
        CompletableFuture<Void> fz = backend.zero(4096, 4096, false, true, true); // queued behind them
        fa.get(5, TimeUnit.SECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(ms).isBetween(250L, 2000L);
        // answered with the first (their own limits end 200 ms later): the archive is given up
        fb.get(100, TimeUnit.MILLISECONDS);
        fz.get(100, TimeUnit.MILLISECONDS);
        assertThat(failures).singleElement().satisfies(e -> assertThat(e.getMessage()).contains("drive-x")
                .contains("offset 0").contains("within 300 ms").contains("test-sink"));
        // the stalled calls still hold the data: the server's own reference is gone once it got its answer
        a.release();
        b.release();
        assertThat(a.refCnt()).isEqualTo(1);
        gate.countDown();
        for (int i = 0; i < 200 && (a.refCnt() != 0 || b.refCnt() != 0); i++) {
            Thread.sleep(10);
        }
        assertThat(a.refCnt()).isZero();
        assertThat(b.refCnt()).isZero();
        assertThat(calls).as("the queued zero request was dropped").noneMatch(c -> c.startsWith("zero"));
    }
}
