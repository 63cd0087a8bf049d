package org.vmbackup.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vmbackup.nbd.backend.MemoryBackend;

/** The server's lifecycle over real sockets, with both transports. */
class NbdServerTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "native={0}")
    @ValueSource(booleans = {true, false})
    void oneEventLoopServesUnixAndTcpServers(boolean allowNative) throws Exception {
        try (NbdEventLoop loop = NbdEventLoop.create(2, allowNative)) {
            assertThat(loop.isNative()).isEqualTo(allowNative && io.netty.channel.epoll.Epoll.isAvailable());
            Path socket = dir.resolve("a.sock");
            NbdServer unix = NbdServer.builder().unixSocket(socket).eventLoop(loop)
                    .export(NbdExport.of("a", new MemoryBackend(1 << 20))).build().start().get(10, TimeUnit.SECONDS);
            NbdServer tcp = NbdServer.builder().tcp(0).eventLoop(loop)
                    .export(NbdExport.of("b", new MemoryBackend(1 << 20))).build().start().get(10, TimeUnit.SECONDS);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
            InetSocketAddress bound = (InetSocketAddress) tcp.localAddress();
            assertThat(bound.getAddress().isLoopbackAddress()).as("TCP binds loopback by default").isTrue();
            byte[] data = "hello nbd".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            try (BlockingNbdClient a = BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "a");
                 BlockingNbdClient b = BlockingNbdClient.connect(bound, false, "b")) {
                assertThat(a.size()).isEqualTo(1 << 20);
                a.write(100, data);
                b.write(200, data);
                assertThat(a.read(100, data.length)).isEqualTo(data);
                assertThat(b.read(200, data.length)).isEqualTo(data);
            }
            NbdExportMetrics m = unix.metrics("a");
            assertThat(m.writes()).isEqualTo(1);
            assertThat(m.bytesWritten()).isEqualTo(data.length);
            assertThat(m.reads()).isEqualTo(1);
            assertThat(m.totalConnections()).isEqualTo(1);
            unix.close().get(10, TimeUnit.SECONDS);
            assertThat(socket).as("socket removed on close").doesNotExist();
            // The shared loop still serves the other server.
            try (BlockingNbdClient b = BlockingNbdClient.connect(bound, false, "b")) {
                assertThat(b.read(200, data.length)).isEqualTo(data);
            }
            tcp.close().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void exportsComeAndGoAtRunTime() throws Exception {
        Path socket = dir.resolve("s.sock");
        NbdServer server = NbdServer.builder().unixSocket(socket).build().start().get(10, TimeUnit.SECONDS);
        try {
            assertThatThrownBy(() -> BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "x"))
                    .isInstanceOf(IOException.class);
            server.addExport(NbdExport.of("x", new MemoryBackend(4096)));
            assertThatThrownBy(() -> server.addExport(NbdExport.of("x", new MemoryBackend(1))))
                    .isInstanceOf(NbdException.class);
            BlockingNbdClient c = BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "x");
            assertThat(server.metrics("x").connections()).isEqualTo(1);
            assertThat(server.exports()).containsExactly("x");
            server.removeExport("x").get(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> c.read(0, 512)).as("connection closed with its export")
                    .isInstanceOf(IOException.class);
            c.close();
            assertThatThrownBy(() -> server.metrics("x")).isInstanceOf(NbdException.class);
        } finally {
            server.close().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void startFailsCleanlyWhenTheSocketPathIsTaken() throws Exception {
        Path socket = dir.resolve("taken.sock");
        Files.createFile(socket);
        NbdServer server = NbdServer.builder().unixSocket(socket).build();
        assertThatThrownBy(() -> server.start().get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(NbdException.class).hasMessageContaining("already exists");
        server.close().get(10, TimeUnit.SECONDS);
        assertThatThrownBy(() -> NbdServer.builder().build()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void gracefulCloseRefusesNewRequestsWithEshutdown() throws Exception {
        Path socket = dir.resolve("g.sock");
        NbdServer server = NbdServer.builder().unixSocket(socket).export(NbdExport.of("g", new MemoryBackend(4096)))
                .build().start().get(10, TimeUnit.SECONDS);
        BlockingNbdClient c = BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "g");
        java.util.concurrent.CompletableFuture<Void> closing = server.close(java.time.Duration.ofSeconds(20));
        assertThatThrownBy(() -> c.read(0, 512)).hasMessageContaining("108");
        c.close();
        closing.get(10, TimeUnit.SECONDS);
        assertThat(socket).doesNotExist();
    }

    /** A memory disk whose size() can be made to wait once, on whichever thread calls it next, and counts writes. */
    static final class GatedBackend implements NbdBackend {
        final MemoryBackend disk = new MemoryBackend(1 << 20);
        final java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        final java.util.concurrent.atomic.AtomicInteger writes = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public long size() {
            if (armed.compareAndSet(true, false)) {
                entered.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS); // bounded: a broken test must not hold the event loop
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return disk.size();
        }

        @Override
        public java.util.concurrent.CompletableFuture<io.netty.buffer.ByteBuf> read(long offset, int length) {
            return disk.read(offset, length);
        }

        @Override
        public java.util.concurrent.CompletableFuture<Void> write(long offset, io.netty.buffer.ByteBuf data,
                boolean fua) {
            writes.incrementAndGet();
            return disk.write(offset, data, fua);
        }
    }

    @Test
    @Timeout(60)
    void anExportRemovedWhileAClientIsChoosingItIsNotServedAfterRemoveExportCompleted() throws Exception {
        // The handshake looks the export up, then (after building its replies) counts the connection on it: an
        // export removed in between used to have a connection removeExport never saw, served after it completed.
        Path socket = dir.resolve("r.sock");
        GatedBackend backend = new GatedBackend();
        NbdServer server = NbdServer.builder().unixSocket(socket).export(NbdExport.of("x", backend)).build().start()
                .get(10, TimeUnit.SECONDS);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            backend.armed.set(true); // the GO reply asks for the size: the event loop waits there
            java.util.concurrent.Future<BlockingNbdClient> connecting = pool.submit(
                    () -> BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "x"));
            assertThat(backend.entered.await(10, TimeUnit.SECONDS)).as("GO reached the export").isTrue();
            server.removeExport("x").get(10, TimeUnit.SECONDS);
            backend.release.countDown();
            BlockingNbdClient c;
            try {
                c = connecting.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException refused) {
                assertThat(refused).hasCauseInstanceOf(IOException.class);
                c = null;
            }
            if (c != null) {
                BlockingNbdClient client = c;
                assertThatThrownBy(() -> client.write(0, new byte[512])).as("no request served on a removed export")
                        .isInstanceOf(IOException.class);
                client.close();
            }
            assertThat(backend.writes.get()).isZero();
        } finally {
            backend.release.countDown();
            pool.shutdownNow();
            server.close().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    @Timeout(60)
    void aReadCompletingAfterTheServerClosedItsOwnEventLoopHasItsBuffersReleased() throws Exception {
        // A backend may complete on its own threads (FileBackend's pool) after close() shut the server's private
        // event loop down: the completion could not be handed to the loop any more and its data was never released.
        Path socket = dir.resolve("h.sock");
        java.util.concurrent.CompletableFuture<io.netty.buffer.ByteBuf> held = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CountDownLatch asked = new java.util.concurrent.CountDownLatch(1);
        NbdBackend backend = new NbdBackend() {
            @Override
            public long size() {
                return 1 << 20;
            }

            @Override
            public java.util.concurrent.CompletableFuture<io.netty.buffer.ByteBuf> read(long offset, int length) {
                asked.countDown();
                return held;
            }
        };
        NbdServer server = NbdServer.builder().unixSocket(socket).export(NbdExport.of("h", backend)).build().start()
                .get(10, TimeUnit.SECONDS);
        BlockingNbdClient c = BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "h");
        io.netty.buffer.ByteBuf data = io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(4096).writeZero(4096);
        try {
            c.sendRead(0, 4096);
            assertThat(asked.await(10, TimeUnit.SECONDS)).as("the READ reached the backend").isTrue();
            server.close().get(10, TimeUnit.SECONDS);
            held.complete(data);
            assertThat(data.refCnt()).as("the late read's buffer was released").isZero();
        } finally {
            c.hangUp();
            if (data.refCnt() > 0) {
                data.release(data.refCnt());
            }
        }
    }

    @ParameterizedTest(name = "native={0}")
    @ValueSource(booleans = {true, false})
    @Timeout(120)
    void pipelinedReadsFarBeyondTheInFlightLimitAreAllAnswered(boolean allowNative) throws Exception {
        // 200 READs of 1 MiB sent at once: the connection pauses at 64 MiB in flight with most of them received but
        // not yet started, and must go on with those (not wait for more bytes from the client) as replies drain.
        Path socket = dir.resolve("p.sock");
        MemoryBackend disk = new MemoryBackend(4 << 20);
        byte[] pattern = new byte[1 << 20];
        new java.util.Random(9).nextBytes(pattern);
        try (NbdEventLoop loop = NbdEventLoop.create(1, allowNative)) {
            NbdServer server = NbdServer.builder().unixSocket(socket).eventLoop(loop)
                    .export(NbdExport.of("p", disk)).build().start().get(10, TimeUnit.SECONDS);
            try (BlockingNbdClient c = BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "p")) {
                c.write(1 << 20, pattern);
                int requests = 200;
                for (int i = 0; i < requests; i++) {
                    c.sendRead(1 << 20, 1 << 20);
                }
                for (int i = 0; i < requests; i++) {
                    assertThat(c.receiveRead(1 << 20)).as("reply %d", i).isEqualTo(pattern);
                }
            }
            server.close().get(10, TimeUnit.SECONDS);
        }
    }
}
