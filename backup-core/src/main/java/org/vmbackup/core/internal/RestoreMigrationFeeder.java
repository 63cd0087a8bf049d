package org.vmbackup.core.internal;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.util.function.LongConsumer;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a migration stream into the unix socket QEMU listens on after {@code migrate-incoming unix:PATH}. QEMU may
 * close its end once it read the stream's EOF section; the zero padding after it is then not needed, so a broken
 * pipe after at least one byte is not an error here (the MIGRATION event tells the truth).
 */
public final class RestoreMigrationFeeder {
    private static final long PROGRESS_NANOS = 100_000_000L;

    private static final Logger log = LoggerFactory.getLogger(RestoreMigrationFeeder.class);

    private RestoreMigrationFeeder() {
    }

    /**
     * Connects to {@code socket} (retrying until it exists, up to 10 s) and copies {@code stream} into it.
     *
     * @return the bytes QEMU accepted
     */
    public static long feed(Path socket, ReadableByteChannel stream) throws IOException {
        return feed(socket, stream, RateLimiter.of(0));
    }

    /**
     * {@link #feed(Path, ReadableByteChannel)} held to {@code limiter} (which other copies may share).
     *
     * @return the bytes QEMU accepted
     */
    public static long feed(Path socket, ReadableByteChannel stream, RateLimiter limiter) throws IOException {
        return feed(socket, stream, limiter, new CancelSignal("migration feed"));
    }

    /**
     * {@link #feed(Path, ReadableByteChannel, RateLimiter)} that stops on {@code cancel}: checked per chunk, and the
     * socket is closed at once (a write QEMU does not read any more would block), which QEMU sees as a broken stream.
     *
     * @return the bytes QEMU accepted; the caller checks {@code cancel} (a closed socket may look like QEMU's end)
     */
    public static long feed(Path socket, ReadableByteChannel stream, RateLimiter limiter, CancelSignal cancel)
            throws IOException {
        return feed(socket, stream, limiter, cancel, sent -> { });
    }

    /**
     * {@link #feed(Path, ReadableByteChannel, RateLimiter, CancelSignal)} that tells {@code progress} the bytes sent
     * so far, at most every 100 ms (the last count comes from the caller's result).
     */
    public static long feed(Path socket, ReadableByteChannel stream, RateLimiter limiter, CancelSignal cancel,
            LongConsumer progress) throws IOException {
        SocketChannel ch = connect(socket);
        long sent = 0;
        long lastReport = System.nanoTime();
        try (ch; CancelSignal.Registration r = cancel.onCancel(() -> closeQuietly(ch))) {
            // chunks of 1 MiB unlimited; at a limit, a tenth of a second's worth, so the stream stays smooth
            int chunk = limiter.unlimited() ? 1 << 20
                    : (int) Math.max(4096, Math.min(1 << 20, limiter.bytesPerSecond() / 10));
            ByteBuffer buf = ByteBuffer.allocateDirect(chunk);
            while (stream.read(buf) >= 0 || buf.position() > 0) {
                cancel.check();
                buf.flip();
                limiter.acquireIo(buf.remaining());
                try {
                    while (buf.hasRemaining()) {
                        sent += ch.write(buf);
                    }
                } catch (IOException e) {
                    if (sent == 0) {
                        throw e;
                    }
                    log.debug("QEMU closed the migration socket after {} bytes: {}", sent, e.toString());
                    return sent;
                }
                buf.clear();
                long now = System.nanoTime();
                if (now - lastReport >= PROGRESS_NANOS) {
                    lastReport = now;
                    progress.accept(sent);
                }
            }
            ch.shutdownOutput();
        }
        return sent;
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // cancelling anyway
        }
    }

    private static SocketChannel connect(Path socket) throws IOException {
        IOException last = null;
        for (int i = 0; i < 1000; i++) {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
                return ch;
            } catch (IOException e) {
                ch.close();
                last = e;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while connecting to " + socket, e);
            }
        }
        throw new IOException("cannot connect to QEMU's migration socket " + socket + ": " + last, last);
    }
}
