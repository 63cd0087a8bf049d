package org.vmbackup.core.internal;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;

/**
 * Listens on a unix socket for QEMU's migration stream ({@code migrate uri=unix:PATH}) and copies it into the
 * archive's VM state channel on its own thread, with one fixed buffer. Accepts exactly one connection.
 * Completes with the stream length once QEMU closes the connection and the channel is closed.
 */
public final class VmstateReceiver implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VmstateReceiver.class);
    private static final int BUFFER = 1 << 20;

    private final Path socket;
    private final ServerSocketChannel server;
    private final CompletableFuture<Long> done = new CompletableFuture<>();
    private volatile SocketChannel connection;
    private volatile boolean closed;

    private VmstateReceiver(Path socket, ServerSocketChannel server) {
        this.socket = socket;
        this.server = server;
    }

    /**
     * Binds {@code socket} (0600) and starts the copying thread.
     *
     * @param socket where to listen; must not exist
     * @param sink the VM state channel; closed when the stream ends
     * @param progress told about every chunk's length as it is stored
     * @param name a name for the thread and messages
     */
    public static VmstateReceiver listen(Path socket, WritableByteChannel sink, LongConsumer progress, String name)
            throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
            PrivateDir.restrict(socket);
        } catch (IOException e) {
            FileTrees.closeQuietly(server);
            throw e;
        }
        VmstateReceiver r = new VmstateReceiver(socket, server);
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

    private void run(WritableByteChannel sink, LongConsumer progress) {
        long total = 0;
        try (SocketChannel ch = server.accept()) {
            connection = ch;
            FileTrees.closeQuietly(server); // one stream only: nobody else may connect
            ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER);
            while (ch.read(buf) >= 0) {
                if (buf.position() < buf.capacity() / 2) {
                    continue; // gather larger writes; the socket delivers small pieces
                }
                total += drain(buf, sink, progress);
            }
            total += drain(buf, sink, progress);
            sink.close();
            log.debug("VM state stream on {} ended after {} bytes", socket, total);
            done.complete(total);
        } catch (IOException | RuntimeException e) {
            FileTrees.closeQuietly(sink);
            String why = closed ? "the VM state receiver was closed" : e.toString();
            done.completeExceptionally(new BackupException("VM state stream on " + socket + " failed after "
                    + total + " bytes: " + why, e));
        }
    }

    private static long drain(ByteBuffer buf, WritableByteChannel sink, LongConsumer progress) throws IOException {
        buf.flip();
        int n = buf.remaining();
        while (buf.hasRemaining()) {
            sink.write(buf);
        }
        buf.clear();
        if (n > 0) {
            progress.accept(n);
        }
        return n;
    }

    /** Stops listening and drops the connection; the completion fails unless the stream already ended. */
    @Override
    public void close() {
        closed = true;
        FileTrees.closeQuietly(server);
        FileTrees.closeQuietly(connection);
    }
}
