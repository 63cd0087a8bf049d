package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * Writes one snapshot (from {@link ChunkStore#create}); mirrors backup-core's {@code ArchiveSink}. Nothing of it
 * is visible in the store until {@link #commit} writes its manifest. Memory is bounded: a fixed number of chunk
 * buffers are in flight, and {@link #write} blocks while none is free (back-pressure).
 */
public interface SnapshotWriter extends AutoCloseable {
    /**
     * Stores {@code data} (position to limit) at {@code offset} of disk number {@code disk}. Any order, any
     * alignment, several threads at once. The buffer is consumed before the method returns. Writing a range
     * twice while its chunk is still open is allowed (the last write wins); a chunk already completed (all its
     * bytes written) cannot be written again.
     *
     * @param disk the disk number (position in {@link SnapshotSpec#disks})
     * @param offset the byte offset
     * @param data the bytes
     * @throws IOException when the range is outside the disk, the chunk is complete already, or the writer failed
     */
    void write(int disk, long offset, ByteBuffer data) throws IOException;

    /**
     * Records that {@code length} bytes at {@code offset} of disk number {@code disk} are zero (no data stored).
     *
     * @param disk the disk number
     * @param offset the byte offset
     * @param length the length
     * @throws IOException as {@link #write}
     */
    void writeZeroes(int disk, long offset, long length) throws IOException;

    /**
     * Optional zero-copy path: the chunk buffer memory for {@code [offset, offset+length)} of disk {@code disk},
     * filled in place by the caller, then {@link InPlaceWrite#commit}ted or {@link InPlaceWrite#abandon}ed. Never
     * blocks (called on network event loops).
     *
     * @param disk the disk number
     * @param offset the byte offset
     * @param length the length
     * @return the room, or null when it cannot be offered now (the caller then uses {@link #write})
     */
    default InPlaceWrite tryReserve(int disk, long offset, int length) {
        return null;
    }

    /** Room inside chunk buffers filled in place, ended by exactly one of commit or abandon. */
    interface InPlaceWrite {
        /** @return the memory to fill, in order, position to limit; together exactly the reserved length */
        List<ByteBuffer> buffers();

        /**
         * The bytes are in place and become part of the snapshot.
         *
         * @throws IOException when the writer failed meanwhile
         */
        void commit() throws IOException;

        /** The bytes will not arrive; the snapshot can then not be committed. Never throws. */
        void abandon();
    }

    /**
     * The VM state stream: sequential, one thread; closing it ends the stream. Only when the spec asked for one.
     *
     * @return the channel
     * @throws IOException when the spec has no VM state or it was opened already
     */
    WritableByteChannel vmstateChannel() throws IOException;

    /**
     * Completes the snapshot: stores the open chunks (unwritten bytes read as zero, or for an incremental disk as
     * the parent's), writes the indexes and then the manifest, the commit point.
     *
     * @return the committed snapshot
     * @throws IOException when it cannot be completed; the snapshot is then not visible
     */
    SnapshotInfo commit() throws IOException;

    /** Discards the snapshot (nothing becomes visible); idempotent, also after a failed commit. Never throws. */
    void abort();

    /** Aborts unless committed. */
    @Override
    void close();
}
