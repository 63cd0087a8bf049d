package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Random access to one disk of an archive ({@link ArchiveSource#disk}). Thread-safe. */
public interface RandomAccessDisk {
    /** The disk: its archive name and exact size. */
    ArchiveDisk disk();

    /**
     * Reads disk bytes from {@code offset} into {@code dst} (position to limit), clipped at the disk end; holes come
     * out as zeros. Advances {@code dst}'s position.
     *
     * @return the number of bytes read: all asked for, less only at the disk end
     * @throws IllegalArgumentException when {@code offset} is outside {@code [0, size]}
     * @throws IOException when the archive cannot be read there (the message names it and where)
     */
    int read(long offset, ByteBuffer dst) throws IOException;

    /**
     * The run of bytes from {@code offset}, at most {@code maxLength} long, that is all hole or all data.
     *
     * @throws IllegalArgumentException when {@code offset} is not inside the disk or {@code maxLength <= 0}
     * @throws IOException when the archive cannot be read there
     */
    BlockStatus blockStatus(long offset, long maxLength) throws IOException;

    /**
     * Whether {@link #blockStatus} answers from memory, without I/O or waiting (a VMA file's index): a server may
     * then call it on its network thread instead of handing every block-status request to its read threads, where
     * it would queue behind the reads. Default false (a directory archive finds holes by reading).
     */
    default boolean blockStatusInMemory() {
        return false;
    }
}
