package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.BlockStatus;
import org.vmbackup.core.RandomAccessDisk;

/**
 * A {@link RandomAccessDisk} whose range checks and clipping at the disk end exist once: a source implements only
 * the reads of ranges already known to lie inside the disk.
 */
public abstract class CheckedDisk implements RandomAccessDisk {
    private final ArchiveDisk disk;

    protected CheckedDisk(ArchiveDisk disk) {
        this.disk = disk;
    }

    @Override
    public final ArchiveDisk disk() {
        return disk;
    }

    @Override
    public final int read(long offset, ByteBuffer dst) throws IOException {
        if (offset < 0 || offset > disk.size()) {
            throw new IllegalArgumentException("offset " + offset + " outside disk " + disk.name() + " (size "
                    + disk.size() + ")");
        }
        int n = (int) Math.min(dst.remaining(), disk.size() - offset);
        int done = readInside(offset, dst.slice(dst.position(), n));
        dst.position(dst.position() + done);
        return done;
    }

    @Override
    public final BlockStatus blockStatus(long offset, long maxLength) throws IOException {
        if (offset < 0 || offset >= disk.size() || maxLength <= 0) {
            throw new IllegalArgumentException("range [" + offset + ", +" + maxLength + ") outside disk "
                    + disk.name() + " (size " + disk.size() + ")");
        }
        return blockStatusInside(offset, Math.min(maxLength, disk.size() - offset));
    }

    /**
     * Reads disk bytes from {@code offset} into {@code dst}, whose remaining bytes end at the disk end at the latest.
     *
     * @return the number of bytes read: all of {@code dst}'s remaining ones unless the archive has fewer
     */
    protected abstract int readInside(long offset, ByteBuffer dst) throws IOException;

    /** {@link #blockStatus} of a run inside the disk: {@code offset + length <= size}, {@code length > 0}. */
    protected abstract BlockStatus blockStatusInside(long offset, long length) throws IOException;
}
