package org.vmbackup.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RawQmp against a peer that greets and answers, then goes silent: the wait for an event ends on time. */
class RawQmpTest {
    @TempDir
    Path dir;

    @Test
    void aPeerThatStopsTalkingFailsTheWaitAfterItsTimeout() throws Exception {
        Path sock = dir.resolve("qmp.sock");
        CountDownLatch done = new CountDownLatch(1);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            Thread peer = new Thread(() -> {
                try (SocketChannel c = server.accept()) {
                    c.write(ByteBuffer.wrap("{\"QMP\": {}}\n".getBytes(StandardCharsets.UTF_8)));
                    c.read(ByteBuffer.allocate(256)); // qmp_capabilities
                    c.write(ByteBuffer.wrap("{\"return\": {}}\n".getBytes(StandardCharsets.UTF_8)));
                    done.await(30, TimeUnit.SECONDS); // then silence
                } catch (IOException | InterruptedException e) {
                    // the test's assertions tell what went wrong
                }
            }, "silent-qmp-peer");
            peer.setDaemon(true);
            peer.start();
            try (RawQmp qmp = RawQmp.connect(sock)) {
                long t0 = System.nanoTime();
                assertThatThrownBy(() -> qmp.awaitLine("JOB_STATUS_CHANGE", Duration.ofMillis(300)))
                        .isInstanceOf(IOException.class)
                        .hasMessage("no line containing JOB_STATUS_CHANGE from QEMU within 300 ms; connection closed");
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
            } finally {
                done.countDown();
            }
        }
    }
}
