package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Collects the VM state of a sequential archive (in a VMA stream it is interleaved with the disk data) into a file,
 * so the migration stream can be fed to QEMU only after every disk is complete.
 */
public final class RestoreVmstateSpool implements AutoCloseable {
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

    /** Stores VM state bytes at their stream offset ({@link org.vmbackup.core.ArchiveVisitor#vmstate}). */
    public void write(long offset, ByteBuffer data) throws IOException {
        long pos = offset;
        ByteBuffer b = data.slice();
        while (b.hasRemaining()) {
            pos += channel.write(b, pos);
        }
        end = Math.max(end, pos);
    }

    /** The stream length as stored (a VMA stores whole clusters: the tail is zero padding QEMU ignores). */
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
