package org.vmbackup.core.vma;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.core.ArchiveVisitor;
import org.vmbackup.core.BlockStatus;
import org.vmbackup.core.RandomAccessDisk;
import org.vmbackup.core.internal.CheckedDisk;
import org.vmbackup.vma.VmaBlockStatus;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaFormatException;
import org.vmbackup.vma.VmaIndex;
import org.vmbackup.vma.VmaReader;

/**
 * An uncompressed VMA file. {@link #read} streams it like any VMA (and can be repeated); random access and the VM
 * state stream go through a {@link VmaIndex}, built by one scan of the extent headers on first use.
 */
final class VmaFileSource implements ArchiveSource {
    private final Path file;
    private final VmaSourceLayout vma;
    private VmaIndex index;
    private boolean closed;
    private long bytesRead;

    private VmaFileSource(Path file, VmaSourceLayout vma) {
        this.file = file;
        this.vma = vma;
    }

    /** Reads and checks the header of {@code file}. */
    static VmaFileSource open(Path file) throws IOException {
        try (VmaReader r = VmaReader.open(file)) {
            return new VmaFileSource(file, new VmaSourceLayout(file.toString(), r.header()));
        } catch (VmaFormatException e) {
            throw new IOException("archive " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public ArchiveLayout layout() {
        return vma.layout();
    }

    @Override
    public boolean randomAccess() {
        return true;
    }

    @Override
    public void read(ArchiveVisitor visitor) throws IOException {
        try (VmaReader r = VmaReader.open(file)) {
            try {
                vma.read(() -> r.readAll(vma.runs(visitor)));
            } finally {
                bytesRead = r.position();
            }
        } catch (VmaFormatException e) {
            throw vma.error(e);
        }
    }

    private synchronized VmaIndex index() throws IOException {
        if (closed) {
            throw new IllegalStateException("archive " + file + " is closed");
        }
        if (index == null) {
            try {
                index = VmaIndex.open(file);
            } catch (VmaFormatException e) {
                throw vma.error(e);
            }
        }
        return index;
    }

    @Override
    public RandomAccessDisk disk(int index) throws IOException {
        VmaDevice dev = vma.device(index);
        ArchiveDisk disk = layout().disk(index);
        VmaIndex idx = index();
        return new CheckedDisk(disk) {
            @Override
            protected int readInside(long offset, ByteBuffer dst) throws IOException {
                try {
                    return idx.read(dev, offset, dst);
                } catch (VmaFormatException e) {
                    throw vma.error(e);
                } catch (UncheckedIOException e) {
                    throw e.getCause();
                }
            }

            @Override
            protected BlockStatus blockStatusInside(long offset, long length) {
                VmaBlockStatus s = idx.blockStatus(dev, offset, length);
                return new BlockStatus(s.offset(), s.length(), s.zero());
            }

            @Override
            public boolean blockStatusInMemory() {
                return true; // the index is built before the disk is handed out
            }
        };
    }

    @Override
    public ReadableByteChannel vmstate() throws IOException {
        VmaDevice dev = vma.vmstate();
        if (dev == null) {
            throw new IOException("archive " + file + " has no VM state");
        }
        VmaIndex idx = index();
        long length = idx.storedLength(dev);
        return new ReadableByteChannel() {
            private long pos;
            private boolean open = true;

            @Override
            public int read(ByteBuffer dst) throws IOException {
                if (!open) {
                    throw new java.nio.channels.ClosedChannelException();
                }
                if (pos >= length) {
                    return -1;
                }
                try {
                    int n = idx.read(dev, pos, dst);
                    pos += n;
                    return n;
                } catch (VmaFormatException e) {
                    throw vma.error(e);
                } catch (UncheckedIOException e) {
                    throw e.getCause();
                }
            }

            @Override
            public boolean isOpen() {
                return open;
            }

            @Override
            public void close() {
                open = false;
            }
        };
    }

    @Override
    public long bytesRead() {
        return bytesRead;
    }

    @Override
    public String describe() {
        return file.toString();
    }

    @Override
    public synchronized void close() throws IOException {
        closed = true;
        if (index != null) {
            index.close();
            index = null;
        }
    }
}
