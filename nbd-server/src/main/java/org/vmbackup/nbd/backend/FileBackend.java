package org.vmbackup.nbd.backend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.vmbackup.nbd.FuaLevel;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdBackendException;
import org.vmbackup.nbd.NbdErrno;

/**
 * A disk image file (raw) served with positional {@link FileChannel} I/O on a small thread pool, so blocking
 * file calls never run on the event loop. FUA and FLUSH are {@code force(false)}; connections share the one
 * channel, so the export is multi-conn safe. The size is fixed when the file is opened.
 */
public final class FileBackend implements NbdBackend, Closeable {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final int ZERO_CHUNK = 1 << 20;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

    private final Path path;
    private final FileChannel channel;
    private final long size;
    private final boolean writable;
    private final Executor executor;
    private final ExecutorService ownedExecutor;

    private FileBackend(Path path, FileChannel channel, boolean writable, Executor executor,
                        ExecutorService owned) throws IOException {
        this.path = path;
        this.channel = channel;
        this.size = channel.size();
        this.writable = writable;
        this.executor = executor;
        this.ownedExecutor = owned;
    }

    /**
     * Opens an existing file.
     *
     * @param readOnly open without write access (writes are refused with EPERM)
     * @throws IOException if the file cannot be opened
     */
    public static FileBackend open(Path path, boolean readOnly) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(4, daemonThreads());
        try {
            return open(path, readOnly, pool, pool);
        } catch (IOException | RuntimeException e) {
            pool.shutdown();
            throw e;
        }
    }

    /** Opens an existing file, running its I/O on {@code executor} (not shut down by {@link #close()}). */
    public static FileBackend open(Path path, boolean readOnly, Executor executor) throws IOException {
        return open(path, readOnly, Objects.requireNonNull(executor, "executor"), null);
    }

    private static FileBackend open(Path path, boolean readOnly, Executor executor, ExecutorService owned)
            throws IOException {
        FileChannel ch = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new FileBackend(path, ch, !readOnly, executor, owned);
    }

    private static ThreadFactory daemonThreads() {
        return r -> {
            Thread t = new Thread(r, "nbd-file-io-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public long size() {
        return size;
    }

    @FunctionalInterface
    private interface IoTask<T> {
        T run() throws IOException;
    }

    private <T> CompletableFuture<T> io(String what, long offset, IoTask<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    f.complete(task.run());
                } catch (IOException | RuntimeException e) {
                    f.completeExceptionally(new NbdBackendException(errno(e), what + " of " + path + " at offset "
                            + offset + " failed: " + e.getMessage(), e));
                }
            });
        } catch (RuntimeException rejected) {
            f.completeExceptionally(new NbdBackendException(NbdErrno.ESHUTDOWN, path + " is closed", rejected));
        }
        return f;
    }

    private static NbdErrno errno(Exception e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("No space left")) {
            return NbdErrno.ENOSPC;
        }
        if (m.contains("Disk quota")) {
            return NbdErrno.EDQUOT;
        }
        return NbdErrno.EIO;
    }

    @Override
    public CompletableFuture<ByteBuf> read(long offset, int length) {
        return io("read", offset, () -> {
            ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(length, length);
            try {
                ByteBuffer nio = buf.nioBuffer(0, length);
                long pos = offset;
                while (nio.hasRemaining()) {
                    int n = channel.read(nio, pos);
                    if (n < 0) {
                        // The file shrank under us: what is missing reads as zero.
                        while (nio.hasRemaining()) {
                            nio.put((byte) 0);
                        }
                        break;
                    }
                    pos += n;
                }
                buf.writerIndex(length);
                return buf;
            } catch (IOException | RuntimeException e) {
                buf.release();
                throw e;
            }
        });
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
        if (!writable) {
            return CompletableFuture.failedFuture(new NbdBackendException(NbdErrno.EROFS, path + " is read-only"));
        }
        return io("write", offset, () -> {
            long pos = offset;
            for (ByteBuffer b : data.nioBuffers()) {
                while (b.hasRemaining()) {
                    pos += channel.write(b, pos);
                }
            }
            if (fua) {
                channel.force(false);
            }
            return null;
        });
    }

    @Override
    public CompletableFuture<Void> zero(long offset, long length, boolean fua, boolean mayTrim, boolean fastZero) {
        if (fastZero) {
            return CompletableFuture.failedFuture(new NbdBackendException(NbdErrno.ENOTSUP, "zeroing is not fast"));
        }
        return io("zero", offset, () -> {
            long pos = offset;
            long end = offset + length;
            while (pos < end) {
                ByteBuffer z = ZEROES.duplicate();
                z.limit((int) Math.min(ZERO_CHUNK, end - pos));
                while (z.hasRemaining()) {
                    pos += channel.write(z, pos);
                }
            }
            if (fua) {
                channel.force(false);
            }
            return null;
        });
    }

    @Override
    public CompletableFuture<Void> flush() {
        return io("flush", 0, () -> {
            channel.force(false);
            return null;
        });
    }

    @Override
    public boolean canWrite() {
        return writable;
    }

    @Override
    public boolean canFastZero() {
        return false;
    }

    @Override
    public FuaLevel fuaLevel() {
        return writable ? FuaLevel.NATIVE : FuaLevel.NONE;
    }

    @Override
    public boolean canMultiConn() {
        return true;
    }

    /** Closes the file (and the backend's own thread pool, if it made one). */
    @Override
    public void close() throws IOException {
        if (ownedExecutor != null) {
            ownedExecutor.shutdown();
        }
        channel.close();
    }
}
