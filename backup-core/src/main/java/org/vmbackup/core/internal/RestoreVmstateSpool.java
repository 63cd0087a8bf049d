package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Collects the archive's {@code vmstate} clusters (interleaved with disk clusters in the archive) into a file, so
 * the migration stream can be fed to QEMU only after every disk is complete.
 */
public final class RestoreVmstateSpool implements AutoCloseable {
    private static final int BLOCK = 4096;
    private static final int CLUSTER_SHIFT = 16;

    private final Path file;
    private final FileChannel channel;
    private long end;

    private RestoreVmstateSpool(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** Creates the spool file (must not exist). */
    public static RestoreVmstateSpool create(Path file) throws IOException {
        return new RestoreVmstateSpool(file, FileChannel.open(file, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, StandardOpenOption.READ));
    }

    /** Stores one cluster of the stream at its position (zero blocks stay holes). */
    public void write(long cluster, int mask, ByteBuffer blocks) throws IOException {
        long base = cluster << CLUSTER_SHIFT;
        int src = 0;
        for (int j = 0; j < 16; j++) {
            if ((mask & 1 << j) != 0) {
                ByteBuffer b = blocks.slice(src, BLOCK);
                long pos = base + (long) j * BLOCK;
                while (b.hasRemaining()) {
                    pos += channel.write(b, pos);
                }
                src += BLOCK;
            }
        }
        end = Math.max(end, base + (1L << CLUSTER_SHIFT));
    }

    /** The stream length (whole clusters, as stored: the tail is zero padding QEMU ignores). */
    public long length() {
        return end;
    }

    /** Extends the file to {@link #length()} and returns a channel positioned at 0 for reading it. */
    public FileChannel finish() throws IOException {
        if (channel.size() < end) {
            channel.write(ByteBuffer.allocate(1), end - 1);
        }
        channel.position(0);
        return channel;
    }

    /** Closes and deletes the spool file. */
    @Override
    public void close() {
        try {
            channel.close();
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // best effort
        }
    }
}
