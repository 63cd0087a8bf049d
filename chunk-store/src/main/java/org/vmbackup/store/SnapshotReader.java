package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * Reads one committed snapshot (from {@link ChunkStore#open}). Thread-safe. Every chunk is checked against its
 * digest before any of its bytes are handed out; a damaged chunk is a {@link CorruptDataException} naming the
 * chunk, snapshot, disk and offset. Reads go through a bounded chunk cache with read-ahead on sequential access.
 */
public interface SnapshotReader extends AutoCloseable {
    /** @return the snapshot's description */
    SnapshotInfo info();

    /**
     * Reads from {@code offset} of disk {@code disk} into {@code dst} (position to limit, advanced); holes read as
     * zeros. Stops at the disk's end.
     *
     * @param disk the disk number
     * @param offset the byte offset
     * @param dst the destination
     * @return the number of bytes read, -1 at or past the end of the disk
     * @throws IOException when a chunk is missing or damaged
     */
    int read(int disk, long offset, ByteBuffer dst) throws IOException;

    /**
     * The run of hole or data starting at {@code offset}, at most {@code maxLength} long (chunk granularity:
     * an all-zero chunk is a hole).
     *
     * @param disk the disk number
     * @param offset the byte offset, below the disk's size
     * @param maxLength the most to describe, at least 1
     * @return the run
     */
    Extent blockStatus(int disk, long offset, long maxLength);

    /**
     * Visits the data (non-hole) chunks of disk {@code disk} in offset order, decoded ahead on several threads:
     * the fast whole-disk restore. The buffer passed is valid only during the call.
     *
     * @param disk the disk number
     * @param visitor receives offset and data of each data chunk
     * @throws IOException when a chunk is missing or damaged, or the visitor throws
     */
    void visitData(int disk, DataVisitor visitor) throws IOException;

    /** Receives a disk's data chunks in order. */
    @FunctionalInterface
    interface DataVisitor {
        /**
         * One data chunk.
         *
         * @param offset its offset on the disk
         * @param data its bytes (read-only view, valid during the call)
         * @throws IOException to stop the visit
         */
        void accept(long offset, ByteBuffer data) throws IOException;
    }

    /**
     * The VM state stream from its start.
     *
     * @return a new channel
     * @throws IOException when the snapshot has no VM state
     */
    ReadableByteChannel vmstate() throws IOException;

    /**
     * Starts fetching the start of the VM state in the background, for a caller that will read it soon: a live
     * restore calls it before QEMU starts, so that QEMU's wait for its state does not begin with a cold store. Bounded
     * (a few chunks, held in the reader's cache); does nothing when there is no VM state. A failure is not reported
     * here but by {@link #vmstate()} and its reads, as without the prefetch.
     */
    default void prefetchVmstate() {
    }

    /**
     * A configuration blob.
     *
     * @param name its name
     * @return its bytes
     * @throws IOException when there is no such blob or it is damaged
     */
    byte[] config(String name) throws IOException;

    /** Releases the cache and threads. */
    @Override
    void close();
}
