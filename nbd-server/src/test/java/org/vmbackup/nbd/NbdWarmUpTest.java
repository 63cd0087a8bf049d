package org.vmbackup.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.nbd.internal.WarmUpClient;

/** The start-up warm-up: its requests all succeed, it leaves nothing behind, and a server starts after it. */
class NbdWarmUpTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "native={0}")
    @ValueSource(booleans = {true, false})
    void everyRequestSucceedsAndThePrivateSocketIsGone(boolean allowNative) throws Exception {
        try (NbdEventLoop loop = NbdEventLoop.create(2, allowNative)) {
            NbdWarmUp.Result result = NbdWarmUp.run(loop, dir).get(60, TimeUnit.SECONDS);
            assertThat(result.clients()).as("one client per I/O thread").isEqualTo(2);
            assertThat(result.requests()).isEqualTo(NbdWarmUp.ROUNDS * WarmUpClient.REQUESTS_PER_ROUND);
            assertThat(result.bytesWrittenInPlace()).as("WRITEs took the in-place receive path").isPositive();
            assertThat(dir).as("private socket directory removed").isEmptyDirectory();
        }
    }

    @Test
    void aMissingDirectoryFailsTheWarmUpWithItsName() throws Exception {
        try (NbdEventLoop loop = NbdEventLoop.create(1, true)) {
            Path missing = dir.resolve("missing");
            assertThatThrownBy(() -> NbdWarmUp.run(loop, missing).get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).cause().isInstanceOf(NoSuchFileException.class)
                    .hasMessageContaining(missing.toString());
        }
    }

    @Test
    void aServerThatAsksForItStartsAfterwardsAndCountsOnlyItsOwnClients() throws Exception {
        try (NbdEventLoop loop = NbdEventLoop.create(2, true)) {
            Path socket = dir.resolve("nbd.sock");
            NbdServer server = NbdServer.builder().unixSocket(socket).eventLoop(loop).warmUp(true)
                    .export(NbdExport.of("disk", MemoryBackend.preallocated(8L << 20))).build()
                    .start().get(60, TimeUnit.SECONDS);
            assertThat(NbdWarmUp.once(loop).isDone()).as("listening only after the warm-up").isTrue();
            assertThat(NbdWarmUp.once(loop).get().requests()).isPositive();
            assertThat(server.metrics("disk").totalConnections()).isZero();
            byte[] data = "after warm-up".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            try (BlockingNbdClient c = BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "disk")) {
                c.write(4096, data);
                assertThat(c.read(4096, data.length)).isEqualTo(data);
            }
            NbdExportMetrics m = server.metrics("disk");
            assertThat(m.writes()).isEqualTo(1);
            assertThat(m.reads()).isEqualTo(1);
            assertThat(m.totalConnections()).isEqualTo(1);
            assertThat(server.exports()).containsExactly("disk");
            server.close().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aWarmUpWhoseLoopIsClosedUnderItFailsFastAndLeavesNothing() throws Exception {
        NbdEventLoop doomed = NbdEventLoop.create(1, true);
        java.util.concurrent.CompletableFuture<NbdWarmUp.Result> warm = NbdWarmUp.run(doomed, dir);
        doomed.close();
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> warm.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("no wait for a loop that will never answer")
                .isLessThan(Duration.ofSeconds(5));
        assertThat(dir).as("private socket directory removed").isEmptyDirectory();
    }

    /**
     * Issue 13's hang: {@code nbd serve} closes its loop when it fails (a missing file) while the JVM's warm-up
     * runs on it; once the private server listened, its clients waited for replies the closed loop never sends,
     * with no timeout, and the next command joined that warm-up for ever. Before the fix this timed out at the
     * {@code get}.
     */
    @Test
    void aWarmUpWhoseLoopIsClosedAfterItsServerListensFailsFastAndLeavesNothing() throws Exception {
        NbdEventLoop doomed = NbdEventLoop.create(1, true);
        CompletableFuture<NbdWarmUp.Result> warm = NbdWarmUp.run(doomed, dir);
        awaitPrivateSocket(warm);
        doomed.close();
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> warm.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("no wait for a loop that will never answer")
                .isLessThan(Duration.ofSeconds(5));
        assertThat(dir).as("private socket directory removed").isEmptyDirectory();
    }

    /** A loop that stops answering (its only thread busy) is given up on after the I/O timeout. */
    @Test
    void aWarmUpWhoseServerStopsAnsweringIsAbandonedAfterTheIoTimeout() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (NbdEventLoop loop = NbdEventLoop.create(1, true)) {
            try {
                CompletableFuture<NbdWarmUp.Result> warm = NbdWarmUp.run(loop, dir, Duration.ofMillis(500));
                awaitPrivateSocket(warm);
                loop.group().execute(() -> {
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                long t0 = System.nanoTime();
                assertThatThrownBy(() -> warm.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOf(SocketTimeoutException.class).hasMessageContaining("500 ms");
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("abandoned, without waiting on the loop")
                        .isLessThan(Duration.ofSeconds(5));
                assertThat(dir).as("private socket directory removed").isEmptyDirectory();
            } finally {
                release.countDown();
            }
        }
    }

    /** A caller does not join a warm-up that runs on a loop being closed: it starts its own, which succeeds. */
    @Test
    void onceDoesNotShareAWarmUpWhoseLoopIsClosing() throws Exception {
        NbdEventLoop first = NbdEventLoop.create(1, true);
        CompletableFuture<NbdWarmUp.Result> shared;
        synchronized (NbdWarmUp.class) { // no other test's warm-up in between
            shared = NbdWarmUp.run(first, dir);
            setOnce(shared, first);
        }
        awaitPrivateSocket(shared);
        first.closeAsync();
        try (NbdEventLoop second = NbdEventLoop.create(1, true)) {
            CompletableFuture<NbdWarmUp.Result> own = NbdWarmUp.once(second);
            assertThat(own).isNotSameAs(shared);
            assertThat(own.get(60, TimeUnit.SECONDS).requests()).isPositive();
        }
        assertThatThrownBy(() -> shared.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
    }

    private static void setOnce(CompletableFuture<NbdWarmUp.Result> f, NbdEventLoop loop) throws Exception {
        java.lang.reflect.Field once = NbdWarmUp.class.getDeclaredField("once");
        java.lang.reflect.Field onceLoop = NbdWarmUp.class.getDeclaredField("onceLoop");
        once.setAccessible(true);
        onceLoop.setAccessible(true);
        once.set(null, f);
        onceLoop.set(null, loop);
    }

    /** Waits until the warm-up's private server listens (its socket file exists), up to 30 s. */
    private void awaitPrivateSocket(CompletableFuture<?> warm) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline && !warm.isDone()) {
            try (Stream<Path> dirs = Files.list(dir)) {
                if (dirs.anyMatch(d -> Files.exists(d.resolve("warm-up.sock")))) {
                    return;
                }
            }
            Thread.sleep(1);
        }
        throw new AssertionError("the warm-up's private server never listened (done: " + warm.isDone() + ")");
    }

    @Test
    void oncePerJvm() {
        try (NbdEventLoop loop = NbdEventLoop.create(1, true)) {
            assertThat(NbdWarmUp.once(loop)).isSameAs(NbdWarmUp.once(loop));
            NbdWarmUp.once(loop).join();
        }
    }
}
