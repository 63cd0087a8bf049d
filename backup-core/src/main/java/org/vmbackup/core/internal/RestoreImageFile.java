package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.vmbackup.core.ArchiveDisk;

/**
 * One image being filled by position from an archive's runs ({@link org.vmbackup.core.ArchiveVisitor}), under a
 * temporary name and renamed on {@link #commit()}: a raw image, created sparse at the exact disk size, or a qcow2
 * image ({@code Qcow2Layout}: the data at a fixed offset, its tables written on commit). Only data runs are written:
 * zero runs stay holes (raw) or unallocated clusters (qcow2).
 */
public final class RestoreImageFile implements AutoCloseable {
    /**
     * Data written between two background flushes. The image is flushed once before its rename anyway; flushing
     * while the restore goes on starts the disk's writes early (the kernel would wait for ~10 % of RAM to be dirty),
     * so the final flush has little left to do and the I/O overlaps the reading and decoding.
     */
    private static final long FLUSH_EVERY = 256L << 20;
    private static final ExecutorService FLUSHER = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "restore-image-flush");
        t.setDaemon(true);
        return t;
    });

    private final ArchiveDisk device;
    private final Path temp;
    private final Path target;
    private final FileChannel channel;
    /** The qcow2 tables being collected, or null for a raw image. */
    private final Qcow2Layout qcow2;
    private long doneBytes;
    private long dataBytes;
    private long flushedUpTo;
    /** The background flush running or last run, null before the first. */
    private CompletableFuture<Void> flushing;
    private boolean committed;

    private RestoreImageFile(ArchiveDisk device, Path temp, Path target, FileChannel channel, Qcow2Layout qcow2) {
        this.device = device;
        this.temp = temp;
        this.target = target;
        this.channel = channel;
        this.qcow2 = qcow2;
    }

    /** Creates the temporary file (must not exist) with the exact size of {@code device}. */
    public static RestoreImageFile create(ArchiveDisk device, Path temp, Path target) throws IOException {
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        try {
            // a one-byte write at the end makes the file exactly device.size() long and sparse
            ch.write(ByteBuffer.allocate(1), device.size() - 1);
            ch.truncate(device.size());
            return new RestoreImageFile(device, temp, target, ch, null);
        } catch (IOException | RuntimeException e) {
            ch.close();
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    /**
     * Creates the temporary file (must not exist) of a qcow2 image of {@code device}: empty until data arrives, its
     * header and tables written by {@link #commit()}, so an unfinished file is never a valid image.
     */
    public static RestoreImageFile createQcow2(ArchiveDisk device, Path temp, Path target) throws IOException {
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        return new RestoreImageFile(device, temp, target, ch, new Qcow2Layout(device.size()));
    }

    /**
     * Opens an existing raw image of the exact device size (a target QEMU's disk that is not active yet) and empties
     * it, so zero ranges become holes and only stored blocks need writing. {@link #commit()} flushes, no rename.
     */
    public static RestoreImageFile overwrite(ArchiveDisk device, Path image) throws IOException {
        FileChannel ch = FileChannel.open(image, StandardOpenOption.WRITE, StandardOpenOption.READ);
        try {
            if (ch.size() != device.size()) {
                throw new org.vmbackup.core.BackupException("image " + image + " is " + ch.size()
                        + " bytes, archive disk " + device.name() + " is " + device.size() + " bytes");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.allocate(1), device.size() - 1);
            return new RestoreImageFile(device, image, image, ch, null);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The archive disk this image belongs to. */
    public ArchiveDisk device() {
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

    /** Writes a data run at {@code offset} of the disk (one positional write, however long). */
    public void write(long offset, ByteBuffer data) throws IOException {
        int len = data.remaining();
        ByteBuffer slice = data.slice();
        long pos = offset;
        if (qcow2 != null) {
            qcow2.markData(offset, len);
            pos = Qcow2Layout.hostOffset(offset);
        }
        while (slice.hasRemaining()) {
            pos += channel.write(slice, pos);
        }
        dataBytes += len;
        doneBytes += len;
        if (dataBytes - flushedUpTo >= FLUSH_EVERY && (flushing == null || flushing.isDone())) {
            awaitFlush(); // a failed flush fails the restore now, not only at the end
            flushedUpTo = dataBytes;
            flushing = CompletableFuture.runAsync(() -> {
                try {
                    channel.force(false);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, FLUSHER);
        }
    }

    /** Waits for the background flush, if any, and throws its failure (an fdatasync error is reported only once). */
    private void awaitFlush() throws IOException {
        if (flushing == null) {
            return;
        }
        try {
            flushing.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof java.io.UncheckedIOException u) {
                throw new IOException("flushing " + temp + ": " + u.getCause().getMessage(), u.getCause());
            }
            throw e;
        }
    }

    /** Counts a zero run: nothing to write, the file is sparse (or was emptied) there. */
    public void zero(long offset, long length) {
        doneBytes += length;
    }

    /** Disk bytes covered so far (data and zero runs; an archive covers each byte once). */
    public long doneBytes() {
        return Math.min(device.size(), doneBytes);
    }

    /** Bytes written as data so far. */
    public long dataBytes() {
        return dataBytes;
    }

    /**
     * Writes a qcow2 image's tables, flushes to disk and closes the file, still under its temporary name (a restore
     * seals every image before it renames any). Idempotent.
     */
    public void seal() throws IOException {
        if (!channel.isOpen()) {
            return;
        }
        awaitFlush();
        if (qcow2 != null) {
            qcow2.finish(channel);
        }
        channel.force(false);
        channel.close();
    }

    /** {@link #seal()}s the image and renames it to its final name. */
    public void commit() throws IOException {
        seal();
        if (!temp.equals(target)) {
            moveNoReplace(temp, target);
        }
        committed = true;
    }

    /**
     * Renames {@code from} to {@code to} unless {@code to} exists: checked before the restore started, a file may
     * still appear there meanwhile, and rename(2) would silently replace it. A hard link fails instead, atomically;
     * on a file system without hard links the check is repeated right before the rename.
     */
    private static void moveNoReplace(Path from, Path to) throws IOException {
        try {
            Files.createLink(to, from);
        } catch (FileAlreadyExistsException e) {
            throw appeared(to);
        } catch (UnsupportedOperationException | FileSystemException e) {
            if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
                throw appeared(to);
            }
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        Files.delete(from);
    }

    private static FileAlreadyExistsException appeared(Path to) {
        return new FileAlreadyExistsException(to.toString(), null,
                "appeared during the restore; refusing to overwrite it");
    }

    /** Closes the file; an uncommitted temporary file is deleted. */
    @Override
    public void close() {
        try {
            if (flushing != null) {
                flushing.handle((v, e) -> null).join(); // not under a flush still running: it fails, harmlessly
            }
            channel.close();
            if (!committed) {
                Files.deleteIfExists(temp);
            }
        } catch (IOException e) {
            // best effort while failing anyway
        }
    }
}
