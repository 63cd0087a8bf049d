package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RestoreMigrationFeederTest {
    @TempDir
    Path tmp;

    @Test
    void aLimitedFeedIsHeldToTheRateAndDeliversEveryByte() throws Exception {
        Path sock = tmp.resolve("m.sock");
        int size = 4 << 20;
        long[] now = {0};
        RateLimiter limiter = RateLimiter.of(1 << 20, () -> now[0], n -> now[0] += n); // fake time: no real waits
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            CompletableFuture<Long> received = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel c = server.accept()) {
                    ByteBuffer b = ByteBuffer.allocate(1 << 16);
                    long n = 0;
                    for (int r; (r = c.read(b.clear())) >= 0; ) {
                        n += r;
                    }
                    return n;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            long sent = RestoreMigrationFeeder.feed(sock,
                    Channels.newChannel(new java.io.ByteArrayInputStream(new byte[size])), limiter);
            assertThat(sent).isEqualTo(size);
            assertThat(received.get(10, TimeUnit.SECONDS)).isEqualTo(size);
        }
        // 4 MiB at 1 MiB/s: 4 s of (fake) waiting, less the burst, less at most one chunk's rounding
        assertThat(now[0]).isBetween(4_000_000_000L - RateLimiter.BURST_NANOS - 1_000_000L,
                4_000_000_000L - RateLimiter.BURST_NANOS);
    }
}
