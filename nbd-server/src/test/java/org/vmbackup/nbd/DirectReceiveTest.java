package org.vmbackup.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vmbackup.nbd.backend.MemoryBackend;

/**
 * WRITE payloads received straight into backend memory ({@link NbdBackend#writeTarget}) over real sockets, on
 * both transports: the data lands intact however the client cuts its bytes, a refused request or a lost
 * connection never commits, and a backend that offers nothing (or a target of the wrong size) still gets the
 * data through {@link NbdBackend#write}.
 */
class DirectReceiveTest {
    private static final int SIZE = 8 << 20;

    @TempDir
    Path dir;

    /** Delegates to a memory disk and counts how its write targets are used. */
    static final class CountingBackend implements NbdBackend {
        final MemoryBackend disk;
        final AtomicInteger targets = new AtomicInteger();
        final AtomicInteger commits = new AtomicInteger();
        final AtomicInteger abandons = new AtomicInteger();
        final AtomicInteger plainWrites = new AtomicInteger();
        volatile boolean offerTargets = true;
        volatile boolean wrongSize;

        CountingBackend(MemoryBackend disk) {
            this.disk = disk;
        }

        @Override
        public long size() {
            return disk.size();
        }

        @Override
        public CompletableFuture<ByteBuf> read(long offset, int length) {
            return disk.read(offset, length);
        }

        @Override
        public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
            plainWrites.incrementAndGet();
            return disk.write(offset, data, fua);
        }

        @Override
        public NbdWriteTarget writeTarget(long offset, int length) {
            if (!offerTargets) {
                return null;
            }
            NbdWriteTarget inner = disk.writeTarget(wrongSize ? offset + 1 : offset, wrongSize ? length - 1 : length);
            targets.incrementAndGet();
            return new NbdWriteTarget() {
                @Override
                public List<ByteBuffer> buffers() {
                    return inner.buffers();
                }

                @Override
                public CompletableFuture<Void> commit(boolean fua) {
                    commits.incrementAndGet();
                    return inner.commit(fua);
                }

                @Override
                public void abandon() {
                    abandons.incrementAndGet();
                    inner.abandon();
                }
            };
        }

        @Override
        public boolean canMultiConn() {
            return true;
        }
    }

    private NbdServer start(NbdEventLoop loop, NbdBackend backend) throws Exception {
        return NbdServer.builder().unixSocket(dir.resolve("s.sock")).eventLoop(loop).export(NbdExport.of("", backend))
                .build().start().get(10, TimeUnit.SECONDS);
    }

    private BlockingNbdClient connect() throws Exception {
        return BlockingNbdClient.connect(UnixDomainSocketAddress.of(dir.resolve("s.sock")), true, "");
    }

    @ParameterizedTest(name = "native={0} preallocated={1}")
    @CsvSource({"true,false", "true,true", "false,false", "false,true"})
    void payloadsCutAnywhereLandIntact(boolean allowNative, boolean preallocated) throws Exception {
        Random random = new Random(42);
        byte[] model = new byte[SIZE];
        CountingBackend backend = new CountingBackend(preallocated ? MemoryBackend.preallocated(SIZE)
                : new MemoryBackend(SIZE));
        try (NbdEventLoop loop = NbdEventLoop.create(1, allowNative)) {
            NbdServer server = start(loop, backend);
            try (BlockingNbdClient client = connect()) {
                for (int i = 0; i < 60; i++) {
                    int length = i % 10 == 0 ? 1 + random.nextInt(16) : 1 + random.nextInt(3 << 20);
                    long offset = random.nextInt(SIZE - length + 1);
                    byte[] data = new byte[length];
                    random.nextBytes(data);
                    int[] cuts = new int[random.nextInt(5)];
                    for (int c = 0; c < cuts.length; c++) {
                        cuts[c] = 1 + random.nextInt(28 + length - 1); // inside the header too
                    }
                    java.util.Arrays.sort(cuts);
                    assertThat(client.writeInPieces(offset, data, cuts, i % 3 == 0 ? 2 : 0)).isZero();
                    System.arraycopy(data, 0, model, (int) offset, length);
                }
                for (int off = 0; off < SIZE; off += 1 << 20) {
                    assertThat(client.read(off, 1 << 20)).as("bytes at %d", off)
                            .isEqualTo(java.util.Arrays.copyOfRange(model, off, off + (1 << 20)));
                }
            }
            server.close().get(10, TimeUnit.SECONDS);
        }
        assertThat(backend.targets.get()).as("large payloads were received in place").isPositive();
        assertThat(backend.commits.get()).isEqualTo(backend.targets.get());
        assertThat(backend.abandons.get()).isZero();
        assertThat(backend.targets.get() + backend.plainWrites.get()).isEqualTo(60);
    }

    @Test
    void aClientThatPausesBetweenRequestsStillHasEveryPayloadAfterTheFirstReceivedInPlace() throws Exception {
        // After a payload received in place the server reads the next header alone. A client that sends its next
        // request only after the server found the socket empty must not have it read into a pooled buffer.
        int length = 1 << 20;
        int requests = 6;
        NbdExportMetrics m = writeEachAndReadItBack(requests, length, 7, 20, new int[0], 0);
        assertThat(m.bytesWritten()).isEqualTo((long) requests * length);
        assertThat(m.bytesWrittenInPlace()).as("bytes received without a user-space copy")
                .isGreaterThanOrEqualTo((long) (requests - 1) * length)
                .isLessThanOrEqualTo(m.bytesWritten());
    }

    @Test
    void aHeaderThatArrivesAloneHasItsWholePayloadReceivedInPlace() throws Exception {
        // The payload target is armed as soon as its header is decoded: no byte of the payload may be read into a
        // header or pooled buffer first (that was 28 bytes of every payload, and all of the first one).
        int length = 256 << 10;
        int requests = 5;
        NbdExportMetrics m = writeEachAndReadItBack(requests, length, 11, 0, new int[] {28}, 30);
        assertThat(m.bytesWritten()).isEqualTo((long) requests * length);
        assertThat(m.bytesWrittenInPlace()).as("bytes received without a user-space copy")
                .isEqualTo(m.bytesWritten());
    }

    /**
     * Over one connection to a preallocated memory export: {@code requests} WRITEs of random data one after another
     * (each after {@code pauseBefore} ms, sent in pieces cut at {@code cuts} with {@code pauseBetween} ms between),
     * each read back and compared. Returns the export's metrics.
     */
    private NbdExportMetrics writeEachAndReadItBack(int requests, int length, long seed, long pauseBefore, int[] cuts,
            long pauseBetween) throws Exception {
        CountingBackend backend = new CountingBackend(MemoryBackend.preallocated(SIZE));
        Random random = new Random(seed);
        try (NbdEventLoop loop = NbdEventLoop.create(1, true)) {
            NbdServer server = start(loop, backend);
            try (BlockingNbdClient client = connect()) {
                for (int i = 0; i < requests; i++) {
                    byte[] data = new byte[length];
                    random.nextBytes(data);
                    Thread.sleep(pauseBefore);
                    assertThat(client.writeInPieces((long) i * length, data, cuts, pauseBetween)).isZero();
                    assertThat(client.read((long) i * length, length)).isEqualTo(data);
                }
            }
            NbdExportMetrics m = server.metrics("");
            server.close().get(10, TimeUnit.SECONDS);
            return m;
        }
    }

    @Test
    void aLostConnectionAbandonsTheTargetAndOthersGoOn() throws Exception {
        CountingBackend backend = new CountingBackend(new MemoryBackend(SIZE));
        try (NbdEventLoop loop = NbdEventLoop.create(1, true)) {
            NbdServer server = start(loop, backend);
            BlockingNbdClient dropped = connect();
            dropped.sendPartialWrite(0, 1 << 20, 28 + 1000);
            Thread.sleep(100);
            dropped.hangUp();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (backend.abandons.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(backend.abandons.get()).isEqualTo(1);
            assertThat(backend.commits.get()).isZero();
            byte[] data = new byte[300_000];
            new Random(1).nextBytes(data);
            try (BlockingNbdClient client = connect()) {
                assertThat(client.writeInPieces(4096, data, new int[] {100}, 5)).isZero();
                assertThat(client.read(4096, data.length)).isEqualTo(data);
            }
            server.close().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRefusedWriteGetsNoTargetAndItsPayloadIsSkipped() throws Exception {
        CountingBackend backend = new CountingBackend(new MemoryBackend(SIZE));
        try (NbdEventLoop loop = NbdEventLoop.create(1, true)) {
            NbdServer server = start(loop, backend);
            try (BlockingNbdClient client = connect()) {
                byte[] data = new byte[1 << 20];
                new Random(2).nextBytes(data);
                assertThat(client.writeError(SIZE - 1000, data)).as("ENOSPC beyond the end").isEqualTo(28);
                assertThat(backend.targets.get()).isZero();
                assertThat(client.writeInPieces(0, data, new int[] {28, 5000}, 2)).isZero();
                assertThat(client.read(0, data.length)).isEqualTo(data);
                assertThat(client.read(SIZE - 1000, 1000)).as("nothing of the refused write landed")
                        .isEqualTo(new byte[1000]);
            }
            server.close().get(10, TimeUnit.SECONDS);
        }
        assertThat(backend.targets.get()).isEqualTo(1);
    }

    @Test
    void withoutATargetOrWithAWrongOneTheBackendGetsAPlainWrite() throws Exception {
        CountingBackend backend = new CountingBackend(new MemoryBackend(SIZE));
        try (NbdEventLoop loop = NbdEventLoop.create(1, true)) {
            NbdServer server = start(loop, backend);
            try (BlockingNbdClient client = connect()) {
                byte[] data = new byte[2 << 20];
                new Random(3).nextBytes(data);
                backend.offerTargets = false;
                assertThat(client.writeInPieces(0, data, new int[] {30}, 2)).isZero();
                backend.offerTargets = true;
                backend.wrongSize = true;
                assertThat(client.writeInPieces(3 << 20, data, new int[] {30}, 2)).isZero();
                assertThat(client.read(0, data.length)).isEqualTo(data);
                assertThat(client.read(3 << 20, data.length)).isEqualTo(data);
            }
            server.close().get(10, TimeUnit.SECONDS);
        }
        assertThat(backend.plainWrites.get()).isEqualTo(2);
        assertThat(backend.commits.get()).isZero();
        assertThat(backend.abandons.get()).as("the wrong-sized target was given back").isEqualTo(1);
    }

    @ParameterizedTest(name = "native={0}")
    @CsvSource({"true", "false"})
    @org.junit.jupiter.api.Timeout(60)
    void aTargetOfHeapBuffersStillGetsItsPayloadIntact(boolean allowNative) throws Exception {
        // A backend may hand out heap memory (ByteBuffer.allocate): nothing in NbdWriteTarget asks for direct buffers.
        byte[] disk = new byte[SIZE];
        AtomicInteger commits = new AtomicInteger();
        NbdBackend backend = new NbdBackend() {
            @Override
            public long size() {
                return SIZE;
            }

            @Override
            public CompletableFuture<ByteBuf> read(long offset, int length) {
                return CompletableFuture.completedFuture(
                        io.netty.buffer.Unpooled.copiedBuffer(disk, (int) offset, length));
            }

            @Override
            public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
                data.getBytes(data.readerIndex(), disk, (int) offset, data.readableBytes());
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public NbdWriteTarget writeTarget(long offset, int length) {
                ByteBuffer heap = ByteBuffer.wrap(disk, (int) offset, length).slice();
                return new NbdWriteTarget() {
                    @Override
                    public List<ByteBuffer> buffers() {
                        return List.of(heap);
                    }

                    @Override
                    public CompletableFuture<Void> commit(boolean fua) {
                        commits.incrementAndGet();
                        return CompletableFuture.completedFuture(null);
                    }
                };
            }
        };
        byte[] data = new byte[1 << 20];
        new Random(5).nextBytes(data);
        try (NbdEventLoop loop = NbdEventLoop.create(1, allowNative)) {
            NbdServer server = start(loop, backend);
            try (BlockingNbdClient client = connect()) {
                assertThat(client.writeInPieces(4096, data, new int[] {28, 1000}, 20)).isZero();
                assertThat(client.writeInPieces(2 << 20, data, new int[] {28, 1000}, 20)).isZero();
                assertThat(client.read(4096, data.length)).isEqualTo(data);
                assertThat(client.read(2 << 20, data.length)).isEqualTo(data);
            }
            server.close().get(10, TimeUnit.SECONDS);
        }
        assertThat(commits.get()).as("both payloads went into the target").isEqualTo(2);
    }
}
