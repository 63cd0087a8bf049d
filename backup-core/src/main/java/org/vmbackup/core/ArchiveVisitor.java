package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Receives an archive's stored data from {@link ArchiveSource#read}, on the reading thread, in archive order: for a
 * VMA that is the order the backup wrote clusters in (disks interleaved, any offset order), for a directory archive
 * each disk in offset order, then the VM state.
 */
public interface ArchiveVisitor {
    /**
     * Bytes {@code [offset, offset + data.remaining())} of disk number {@code disk}. The buffer is read-only and
     * valid only during the call.
     *
     * @throws IOException when the consumer fails; the read stops and rethrows it
     */
    void data(int disk, long offset, ByteBuffer data) throws IOException;

    /**
     * {@code length} bytes at {@code offset} of disk number {@code disk} are zero (a hole: nothing stored).
     *
     * @throws IOException when the consumer fails; the read stops and rethrows it
     */
    void zero(int disk, long offset, long length) throws IOException;

    /**
     * VM state bytes at {@code offset} of the stream, in increasing offset without gaps. The buffer is read-only and
     * valid only during the call. Default: ignored.
     *
     * @throws IOException when the consumer fails; the read stops and rethrows it
     */
    default void vmstate(long offset, ByteBuffer data) throws IOException {
    }
}
