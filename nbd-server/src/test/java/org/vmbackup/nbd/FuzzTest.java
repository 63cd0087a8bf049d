package org.vmbackup.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.nbd.internal.SessionGenerator;
import org.vmbackup.nbd.internal.Wire;

/**
 * Random and mutated client streams against the handshake and transmission phases, with Netty's leak detector
 * at PARANOID: nothing may throw out of the pipeline, leak a buffer, or disturb a well-behaved client.
 */
class FuzzTest {
    private static final long EMBEDDED_MILLIS = 14_000;
    private static final long SOCKET_MILLIS = 10_000;
    private static final long SIZE = 8 << 20;

    @TempDir
    Path dir;

    @Test
    void embeddedSessionsNeverThrowOrLeak() throws Exception {
        LeakRecorder leaks = LeakRecorder.install();
        leaks.selfCheck();
        Random rnd = new Random(20261201L);
        NbdExport export = NbdExport.of("fz", new MemoryBackend(SIZE));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EMBEDDED_MILLIS);
        int sessions = 0;
        while (System.nanoTime() < deadline) {
            byte[] input = switch (rnd.nextInt(10)) {
                case 0 -> SessionGenerator.validSession(rnd, "fz", SIZE);
                case 1, 2 -> SessionGenerator.garbage(rnd);
                default -> SessionGenerator.mutate(rnd, SessionGenerator.validSession(rnd, "fz", SIZE));
            };
            EmbeddedChannel ch = Wire.handshakeChannel(export);
            feed(rnd, ch, input);
            ch.finishAndReleaseAll();
            sessions++;
        }
        System.out.println("embedded fuzz sessions: " + sessions);
        assertThat(sessions).as("sessions run").isGreaterThan(1000);
        assertThat(leaks.collect()).as("leaks after %d sessions", sessions).isEmpty();
    }

    private static void feed(Random rnd, EmbeddedChannel ch, byte[] input) {
        int pos = 0;
        while (pos < input.length && ch.isOpen()) {
            int n = Math.min(input.length - pos, 1 + (rnd.nextBoolean() ? rnd.nextInt(32) : rnd.nextInt(200_000)));
            ch.writeInbound(Unpooled.wrappedBuffer(input, pos, n));
            pos += n;
            Wire.drain(ch).release();
            if (rnd.nextInt(200) == 0) {
                ch.close();
            }
        }
        Wire.drain(ch).release();
    }

    /** A memory store whose operations complete later on another thread, in random order. */
    static final class SlowBackend implements NbdBackend {
        private final MemoryBackend store = new MemoryBackend(SIZE);
        private final ScheduledExecutorService timer;
        private final Random rnd = new Random(7);

        SlowBackend(ScheduledExecutorService timer) {
            this.timer = timer;
        }

        private synchronized int delay() {
            return rnd.nextInt(3000);
        }

        private <T> CompletableFuture<T> later(java.util.function.Supplier<CompletableFuture<T>> op) {
            CompletableFuture<T> f = new CompletableFuture<>();
            timer.schedule(() -> op.get().whenComplete((v, e) -> {
                if (e != null) {
                    f.completeExceptionally(e);
                } else {
                    f.complete(v);
                }
            }), delay(), TimeUnit.MICROSECONDS);
            return f;
        }

        @Override
        public long size() {
            return SIZE;
        }

        @Override
        public CompletableFuture<ByteBuf> read(long offset, int length) {
            return later(() -> store.read(offset, length));
        }

        @Override
        public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
            return later(() -> store.write(offset, data, fua));
        }

        @Override
        public CompletableFuture<Void> flush() {
            return later(store::flush);
        }

        @Override
        public CompletableFuture<java.util.List<NbdExtent>> extents(long offset, long length) {
            return later(() -> store.extents(offset, length));
        }
    }

    @Test
    void socketFuzzersDoNotDisturbAGoodClient() throws Exception {
        LeakRecorder leaks = LeakRecorder.install();
        Path socket = dir.resolve("fuzz.sock");
        ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
        AtomicReference<Throwable> goodFailure = new AtomicReference<>();
        AtomicInteger goodOps = new AtomicInteger();
        AtomicInteger fuzzSessions = new AtomicInteger();
        long inPlace;
        try (NbdEventLoop loop = NbdEventLoop.create(2, true)) {
            NbdServer server = NbdServer.builder().unixSocket(socket).eventLoop(loop)
                    .handshakeTimeout(java.time.Duration.ofSeconds(2))
                    .export(NbdExport.of("good", new MemoryBackend(SIZE)))
                    .export(NbdExport.of("fz", new SlowBackend(timer)))
                    // A memory export offers write targets: its WRITEs are received in place (DirectReceive).
                    .export(NbdExport.of("fzmem", new MemoryBackend(SIZE))).build().start().get(10, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SOCKET_MILLIS);
            Thread good = new Thread(() -> {
                Random rnd = new Random(1);
                try (BlockingNbdClient c = BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "good")) {
                    while (System.nanoTime() < deadline) {
                        byte[] data = new byte[1 + rnd.nextInt(65536)];
                        rnd.nextBytes(data);
                        long off = (long) (rnd.nextDouble() * (SIZE - data.length));
                        c.write(off, data);
                        if (!java.util.Arrays.equals(c.read(off, data.length), data)) {
                            throw new AssertionError("read-back mismatch at " + off);
                        }
                        goodOps.incrementAndGet();
                    }
                } catch (Throwable t) {
                    goodFailure.set(t);
                }
            });
            good.start();
            Thread[] fuzzers = new Thread[2];
            for (int t = 0; t < fuzzers.length; t++) {
                long seed = 100 + t;
                String export = t == 0 ? "fz" : "fzmem";
                fuzzers[t] = new Thread(() -> {
                    Random rnd = new Random(seed);
                    while (System.nanoTime() < deadline) {
                        byte[] input = rnd.nextInt(5) == 0 ? SessionGenerator.garbage(rnd)
                                : SessionGenerator.mutate(rnd, SessionGenerator.validSession(rnd, export, SIZE));
                        blast(socket, input, rnd.nextInt(4) == 0 ? 0 : 100);
                        fuzzSessions.incrementAndGet();
                    }
                });
                fuzzers[t].start();
            }
            good.join();
            for (Thread f : fuzzers) {
                f.join();
            }
            try (BlockingNbdClient c = BlockingNbdClient.connect(UnixDomainSocketAddress.of(socket), true, "good")) {
                assertThat(c.read(0, 512)).hasSize(512);
            }
            inPlace = server.metrics("fzmem").bytesWrittenInPlace();
            server.close().get(10, TimeUnit.SECONDS);
        } finally {
            timer.shutdown();
            timer.awaitTermination(5, TimeUnit.SECONDS);
        }
        System.out.println("socket fuzz sessions: " + fuzzSessions.get() + ", good client ops: " + goodOps.get());
        assertThat(goodFailure.get()).as("good client").isNull();
        assertThat(goodOps.get()).isPositive();
        assertThat(fuzzSessions.get()).isGreaterThan(50);
        assertThat(inPlace).as("fuzzed WRITE bytes received in place").isPositive();
        Thread.sleep(200);
        assertThat(leaks.collect()).as("leaks after %d fuzz sessions", fuzzSessions.get()).isEmpty();
    }

    /** Sends {@code input} without blocking for long, reads and discards replies for a while, then closes. */
    private static void blast(Path socket, byte[] input, long lingerMillis) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.configureBlocking(false);
            ByteBuffer out = ByteBuffer.wrap(input);
            ByteBuffer in = ByteBuffer.allocate(1 << 16);
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(lingerMillis);
            do {
                if (out.hasRemaining()) {
                    ch.write(out);
                }
                in.clear();
                if (ch.read(in) < 0) {
                    break;
                }
                if (!out.hasRemaining() && lingerMillis == 0) {
                    break;
                }
                Thread.onSpinWait();
            } while (System.nanoTime() < end);
        } catch (IOException e) {
            // The server may close on bad input: that is the point.
        }
    }
}
