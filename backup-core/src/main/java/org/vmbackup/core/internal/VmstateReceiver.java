package org.vmbackup.core.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;

/**
 * Listens on a unix socket for QEMU's migration stream ({@code migrate uri=unix:PATH}) and copies it into the
 * archive's VM state channel on its own thread, with one fixed buffer. Accepts exactly one connection.
 * Completes with the stream length once QEMU closes the connection and the channel is closed.
 *
 * <p>When the archive fails (or {@link #discard()} is called) the receiver keeps reading the stream to its end
 * and drops it: a background snapshot is never cut off midway, because QEMU 7.2 can be left with guest RAM
 * still registered for write tracking (the next snapshot is refused, or the monitor hangs).
 *
 * <p>The archive writes run on a second thread, each bounded by a limit (the session's cbw timeout): during a
 * background snapshot a guest write to RAM not yet saved waits until QEMU sent that page, so a receiver stuck in
 * a stalled archive would hold the guest's vCPUs. An archive that does not take a chunk within the limit is
 * treated as failed: the stream is dropped from then on (the stuck write keeps its own buffer).
 */
public final class VmstateReceiver implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VmstateReceiver.class);
    private static final int BUFFER = 1 << 20;

    private final Path socket;
    private final ServerSocketChannel server;
    private final CompletableFuture<Long> done = new CompletableFuture<>();
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private volatile boolean discard;
    private volatile SocketChannel connection;
    private volatile boolean closed;
    private final Duration limit;
    private final ExecutorService writer;
    private ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER);

    private VmstateReceiver(Path socket, ServerSocketChannel server, Duration limit, String name) {
        this.socket = socket;
        this.server = server;
        this.limit = limit;
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "vmstate-store-" + name);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Binds {@code socket} (0600) and starts the copying thread.
     *
     * @param socket where to listen; must not exist
     * @param sink the VM state channel; closed when the stream ends
     * @param progress told about every chunk's length as it is stored
     * @param name a name for the thread and messages
     * @param limit the longest one archive write may take before the archive is given up
     */
    public static VmstateReceiver listen(Path socket, WritableByteChannel sink, LongConsumer progress, String name,
            Duration limit) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
            PrivateDir.restrict(socket);
        } catch (IOException e) {
            FileTrees.closeQuietly(server);
            throw e;
        }
        VmstateReceiver r = new VmstateReceiver(socket, server, limit, name);
        Thread t = new Thread(() -> r.run(sink, progress), "vmstate-" + name);
        t.setDaemon(true);
        t.start();
        return r;
    }

    /** The socket path, for {@code migrate uri=unix:PATH}. */
    public Path socket() {
        return socket;
    }

    /** Completes with the stream length, or exceptionally with a {@link BackupException} naming the cause. */
    public CompletableFuture<Long> completion() {
        return done;
    }

    /** Completes when the stream ended or the connection was closed (whether or not it was stored). */
    public CompletableFuture<Void> drained() {
        return drained;
    }

    /** Stops storing: the rest of the stream is read and dropped, so QEMU can finish the snapshot. */
    public void discard() {
        discard = true;
    }

    private void run(WritableByteChannel sink, LongConsumer progress) {
        long total = 0;
        try (SocketChannel ch = server.accept()) {
            connection = ch;
            FileTrees.closeQuietly(server); // one stream only: nobody else may connect
            while (ch.read(buf) >= 0) {
                if (buf.position() < buf.capacity() / 2) {
                    continue; // gather larger writes; the socket delivers small pieces
                }
                total += store(sink, progress, total);
            }
            total += store(sink, progress, total);
            if (!discard) {
                sink.close();
                log.debug("VM state stream on {} ended after {} bytes", socket, total);
                done.complete(total);
            } else {
                fail(total, new IOException("the VM state stream was discarded"));
            }
        } catch (IOException | RuntimeException e) {
            fail(total, e);
        } finally {
            writer.shutdown();
            drained.complete(null);
        }
    }

    private void fail(long total, Exception e) {
        FileTrees.closeQuietly(connection);
        String why = closed ? "the VM state receiver was closed" : e.getMessage() == null ? e.toString() : e.getMessage();
        done.completeExceptionally(new BackupException("VM state stream on " + socket + " failed after " + total
                + " bytes: " + why, e));
    }

    /** Stores the buffered bytes; once storing failed or was given up, drops them. */
    private long store(WritableByteChannel sink, LongConsumer progress, long total) throws IOException {
        buf.flip();
        int n = buf.remaining();
        if (!discard) {
            ByteBuffer b = buf;
            Future<?> w = writer.submit(() -> {
                while (b.hasRemaining()) {
                    sink.write(b);
                }
                return null;
            });
            try {
                w.get(limit.toNanos(), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                discard = true; // keep reading: QEMU must be able to finish the snapshot
                FileTrees.closeQuietly(sink);
                done.completeExceptionally(new BackupException("VM state stream on " + socket
                        + ": the archive refused the data after " + total + " bytes: " + c.getMessage(), c));
            } catch (TimeoutException e) {
                discard = true;
                buf = ByteBuffer.allocateDirect(BUFFER); // the stuck write still owns the old one
                done.completeExceptionally(new BackupException("VM state stream on " + socket + ": the archive did "
                        + "not take the data after " + total + " bytes within " + limit.toMillis() + " ms (cbw "
                        + "timeout): the backup fails so the guest's vCPUs do not wait",
                        new InterruptedIOException("no answer from the archive")));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while storing the VM state");
            }
        }
        buf.clear();
        if (n > 0 && !discard) {
            progress.accept(n);
        }
        return n;
    }

    /** Stops listening and drops the connection; the completion fails unless the stream already ended. */
    @Override
    public void close() {
        closed = true;
        writer.shutdownNow();
        FileTrees.closeQuietly(server);
        FileTrees.closeQuietly(connection);
    }
}
