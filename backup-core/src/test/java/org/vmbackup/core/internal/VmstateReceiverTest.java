package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.BackupException;

class VmstateReceiverTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @Test
    void copiesOneStreamIntoTheSinkAndClosesIt() throws Exception {
        try (PrivateDir dir = PrivateDir.create("vmstate-test-")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.path()))).isEqualTo("rwx------");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            WritableByteChannel sink = Channels.newChannel(out);
            AtomicLong seen = new AtomicLong();
            try (VmstateReceiver r = VmstateReceiver.listen(dir.resolve("m.sock"), sink, seen::addAndGet, "t",
                    LIMIT)) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(r.socket())))
                        .isEqualTo("rw-------");
                byte[] data = new byte[3_000_001];
                new Random(3).nextBytes(data);
                try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    c.connect(UnixDomainSocketAddress.of(r.socket()));
                    ByteBuffer b = ByteBuffer.wrap(data);
                    while (b.hasRemaining()) {
                        c.write(b);
                    }
                }
                assertThat(r.completion().get(10, TimeUnit.SECONDS)).isEqualTo(data.length);
                assertThat(out.toByteArray()).isEqualTo(data);
                assertThat(seen.get()).isEqualTo(data.length);
                assertThat(sink.isOpen()).isFalse();
            }
        }
    }

    @Test
    void sinkFailureFailsTheCompletionNamingTheSocket() throws Exception {
        try (PrivateDir dir = PrivateDir.create("vmstate-test-")) {
            WritableByteChannel failing = new WritableByteChannel() {
                @Override
                public int write(ByteBuffer src) throws IOException {
                    throw new IOException("No space left on device");
                }

                @Override
                public boolean isOpen() {
                    return true;
                }

                @Override
                public void close() {
                }
            };
            try (VmstateReceiver r = VmstateReceiver.listen(dir.resolve("m.sock"), failing, n -> { }, "t", LIMIT);
                    SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                c.connect(UnixDomainSocketAddress.of(r.socket()));
                c.write(ByteBuffer.allocate(1 << 20));
                assertThatThrownBy(() -> r.completion().get(10, TimeUnit.SECONDS))
                        .isInstanceOf(ExecutionException.class).cause().isInstanceOf(BackupException.class)
                        .hasMessageContaining("m.sock").hasMessageContaining("No space left");
                // the stream is still read to its end, so QEMU can finish its snapshot
                for (int i = 0; i < 8; i++) {
                    ByteBuffer more = ByteBuffer.allocate(1 << 20);
                    while (more.hasRemaining()) {
                        c.write(more);
                    }
                }
                assertThat(r.drained()).isNotDone();
                c.shutdownOutput();
                r.drained().get(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void discardDropsTheRestAndFailsTheCompletion() throws Exception {
        try (PrivateDir dir = PrivateDir.create("vmstate-test-")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (VmstateReceiver r = VmstateReceiver.listen(dir.resolve("m.sock"), Channels.newChannel(out),
                    n -> { }, "t", LIMIT); SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                r.discard();
                c.connect(UnixDomainSocketAddress.of(r.socket()));
                c.write(ByteBuffer.allocate(4096));
                c.shutdownOutput();
                r.drained().get(10, TimeUnit.SECONDS);
                assertThat(out.size()).isZero();
                assertThatThrownBy(() -> r.completion().get(10, TimeUnit.SECONDS)).cause()
                        .hasMessageContaining("discarded");
            }
        }
    }

    @Test
    void closeBeforeAnyConnectionFailsTheCompletion() throws Exception {
        try (PrivateDir dir = PrivateDir.create("vmstate-test-")) {
            VmstateReceiver r = VmstateReceiver.listen(dir.resolve("m.sock"),
                    Channels.newChannel(new ByteArrayOutputStream()), n -> { }, "t", LIMIT);
            r.close();
            assertThatThrownBy(() -> r.completion().get(10, TimeUnit.SECONDS)).cause()
                    .hasMessageContaining("receiver was closed");
        }
        }

    @Test
    void aStalledArchiveIsGivenUpAfterTheLimitAndTheStreamStillReadToItsEnd() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        WritableByteChannel stalled = new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) throws IOException {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                throw new IOException("released");
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
        try (PrivateDir dir = PrivateDir.create("vmstate-test-");
                VmstateReceiver r = VmstateReceiver.listen(dir.resolve("m.sock"), stalled, n -> { }, "t",
                        Duration.ofMillis(300));
                SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(r.socket()));
            long t0 = System.nanoTime();
            // far more than the socket buffers hold: only a receiver that reads on past the stall takes it all
            for (int i = 0; i < 32; i++) {
                ByteBuffer b = ByteBuffer.allocate(1 << 20);
                while (b.hasRemaining()) {
                    c.write(b);
                }
            }
            c.shutdownOutput();
            r.drained().get(10, TimeUnit.SECONDS);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5000);
            assertThatThrownBy(() -> r.completion().get(1, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(BackupException.class).hasMessageContaining("within 300 ms")
                    .hasMessageContaining("m.sock");
        } finally {
            release.countDown();
        }
    }
}
