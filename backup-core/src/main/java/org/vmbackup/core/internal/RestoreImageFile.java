package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.vmbackup.vma.VmaDevice;

/**
 * One raw image being filled by position from archive clusters: created sparse at the exact device size under a
 * temporary name, only stored blocks are written (zero blocks stay holes), renamed on {@link #commit()}.
 */
public final class RestoreImageFile implements AutoCloseable {
    private static final int BLOCK = 4096;
    private static final int CLUSTER_SHIFT = 16;

    private final VmaDevice device;
    private final Path temp;
    private final Path target;
    private final FileChannel channel;
    private long clustersDone;
    private long dataBytes;
    private boolean committed;

    private RestoreImageFile(VmaDevice device, Path temp, Path target, FileChannel channel) {
        this.device = device;
        this.temp = temp;
        this.target = target;
        this.channel = channel;
    }

    /** Creates the temporary file (must not exist) with the exact size of {@code device}. */
    public static RestoreImageFile create(VmaDevice device, Path temp, Path target) throws IOException {
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        try {
            // a one-byte write at the end makes the file exactly device.size() long and sparse
            ch.write(ByteBuffer.allocate(1), device.size() - 1);
            ch.truncate(device.size());
            return new RestoreImageFile(device, temp, target, ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    /**
     * Opens an existing raw image of the exact device size (a target QEMU's disk that is not active yet) and empties
     * it, so zero ranges become holes and only stored blocks need writing. {@link #commit()} flushes, no rename.
     */
    public static RestoreImageFile overwrite(VmaDevice device, Path image) throws IOException {
        FileChannel ch = FileChannel.open(image, StandardOpenOption.WRITE, StandardOpenOption.READ);
        try {
            if (ch.size() != device.size()) {
                throw new org.vmbackup.core.BackupException("image " + image + " is " + ch.size()
                        + " bytes, archive disk " + device.name() + " is " + device.size() + " bytes");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.allocate(1), device.size() - 1);
            return new RestoreImageFile(device, image, image, ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The device this image belongs to. */
    public VmaDevice device() {
        return device;
    }

    /** The final path. */
    public Path target() {
        return target;
    }

    /** The temporary path written to until commit. */
    public Path temp() {
        return temp;
    }

    /** Writes the stored blocks of one cluster (runs of consecutive blocks in one positional write). */
    public void write(long cluster, int mask, ByteBuffer blocks) throws IOException {
        long base = cluster << CLUSTER_SHIFT;
        int src = 0;
        int m = mask & 0xFFFF;
        while (m != 0) {
            int j = Integer.numberOfTrailingZeros(m);
            int run = Integer.numberOfTrailingZeros(~(m >>> j));
            m &= ~(((1 << run) - 1) << j);
            long at = base + (long) j * BLOCK;
            long len = Math.min((long) run * BLOCK, device.size() - at);
            if (len > 0) {
                ByteBuffer slice = blocks.slice(src, (int) len);
                long pos = at;
                while (slice.hasRemaining()) {
                    pos += channel.write(slice, pos);
                }
                dataBytes += len;
            }
            src += run * BLOCK;
        }
        clustersDone++;
    }

    /** Device bytes covered so far (data and zero clusters). */
    public long doneBytes() {
        return Math.min(device.size(), clustersDone << CLUSTER_SHIFT);
    }

    /** Bytes written as data so far. */
    public long dataBytes() {
        return dataBytes;
    }

    /** Flushes to disk and renames the file to its final name. */
    public void commit() throws IOException {
        channel.force(false);
        channel.close();
        if (!temp.equals(target)) {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        }
        committed = true;
    }

    /** Closes the file; an uncommitted temporary file is deleted. */
    @Override
    public void close() {
        try {
            channel.close();
            if (!committed) {
                Files.deleteIfExists(temp);
            }
        } catch (IOException e) {
            // best effort while failing anyway
        }
    }
}
