package org.vmbackup.qmp.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.vmbackup.qmp.QmpConnectionClosedException;
import org.vmbackup.qmp.QmpException;

/** Failure paths of the guest agent client found in a safety review. */
@Timeout(30)
class GuestAgentClientSafetyTest {

    @Test
    void connectingToASocketWhoseBacklogIsFullDoesNotBlockTheCaller() throws Exception {
        Path dir = Files.createTempDirectory("vmbackup-qga-backlog-");
        Path socket = dir.resolve("qga.sock");
        List<SocketChannel> queued = new ArrayList<>();
        // Like QEMU's chardev while another client holds it: listening, nobody accepting, backlog 1.
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket), 1);
            // Fill the backlog with non-blocking connects until the kernel refuses more.
            for (int i = 0; i < 64; i++) {
                SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                c.configureBlocking(false);
                queued.add(c);
                try {
                    c.connect(UnixDomainSocketAddress.of(socket));
                } catch (java.io.IOException full) {
                    break;
                }
            }
            long start = System.nanoTime();
            CompletableFuture<GuestAgentClient> f = CompletableFuture.supplyAsync(() -> GuestAgentClient
                    .builder(socket).connectTimeout(Duration.ofMillis(500)).connect()).thenCompose(x -> x);
            Throwable t;
            try {
                f.get(10, TimeUnit.SECONDS).close();
                throw new AssertionError("connected to a socket nobody accepts on");
            } catch (ExecutionException e) {
                t = e.getCause();
            }
            assertThat(t).isInstanceOf(QmpException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        } finally {
            for (SocketChannel c : queued) {
                c.close();
            }
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void closeFailsTheWaitingAndTheQueuedCallsAtOnce() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
        // Answers the connect's sync, then falls silent (the guest stopped).
        try (FakeGuestAgent fake = new FakeGuestAgent(
                r -> first.getAndSet(false) ? FakeGuestAgent.syncReply(r) : null)) {
            GuestAgentClient qga = GuestAgentClient.builder(fake.socket()).connectTimeout(Duration.ofSeconds(5))
                    .connect().get(10, TimeUnit.SECONDS);
            var waiting = qga.execute("guest-ping", null, Duration.ofSeconds(20));
            var queued = qga.execute("guest-info", null, Duration.ofSeconds(20));
            Thread.sleep(200);
            long start = System.nanoTime();
            qga.close();
            for (CompletableFuture<?> f : List.of(waiting, queued)) {
                try {
                    f.get(5, TimeUnit.SECONDS);
                    throw new AssertionError("a call completed on a closed client");
                } catch (ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(QmpConnectionClosedException.class);
                }
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        }
    }
}
