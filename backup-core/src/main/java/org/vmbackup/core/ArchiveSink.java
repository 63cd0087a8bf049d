package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * An archive being written by a backup: the pluggable part that makes the backup format independent of QEMU.
 * A sink is opened for one {@link ArchiveLayout} by an {@link ArchiveTarget}, receives disk data at offsets
 * (in any order, from several threads) and the VM state as one sequential stream, and ends with exactly one
 * of {@link #commit()} (the archive appears under its final name, atomically) or {@link #abort()} (nothing
 * appears under the final name).
 *
 * <p>Data methods may block to apply back-pressure; they must never buffer without bound. Callers never call
 * them on a network event loop.
 */
public interface ArchiveSink {
    /**
     * Stores {@code data} (position to limit) at {@code offset} of disk number {@code disk}. The buffer is
     * consumed before the method returns and may be reused by the caller afterwards. Thread-safe.
     *
     * @throws IOException when the archive cannot take the data (disk full, closed...)
     */
    void write(int disk, long offset, ByteBuffer data) throws IOException;

    /**
     * Optional zero-copy path: room in the archive for {@code length} bytes at {@code offset} of disk number
     * {@code disk} that the caller fills in place (the NBD server receives a WRITE straight from its socket into
     * it), or {@code null} when the format cannot offer that for this range right now; the caller then uses
     * {@link #write}. Never blocks (it is called on a network event loop). Thread-safe. Default: null.
     *
     * @throws RuntimeException when the range can never be written (e.g. already written); the caller then falls
     *     back to {@link #write}, which reports it
     */
    default InPlaceWrite tryReserve(int disk, long offset, int length) {
        return null;
    }

    /** Room in an archive filled in place by the caller, then ended by exactly one of commit or abandon. */
    interface InPlaceWrite {
        /** The memory to fill, in order, position to limit; together exactly the reserved length. */
        List<ByteBuffer> buffers();

        /**
         * The bytes are in place: they become part of the archive. Never blocks for long.
         *
         * @throws IOException when the archive cannot take them (it failed meanwhile)
         */
        void commit() throws IOException;

        /** The bytes will not arrive in full; the archive can then not be completed. Never throws. */
        void abandon();
    }

    /**
     * Records that {@code length} bytes at {@code offset} of disk number {@code disk} are zero. Costs no data
     * where the format can say so. Thread-safe.
     *
     * @throws IOException when the archive cannot record it
     */
    void writeZeroes(int disk, long offset, long length) throws IOException;

    /**
     * The VM state stream, written sequentially by one thread; closing it ends the stream. Only valid when the
     * layout has a VM state.
     *
     * @throws IOException when the stream cannot be opened
     */
    WritableByteChannel vmstateChannel() throws IOException;

    /**
     * Flushes everything, checks the archive is complete and makes it appear under its final name atomically.
     *
     * @throws IOException when the archive cannot be completed; nothing is left under the final name then
     */
    void commit() throws IOException;

    /** Discards the partial archive; safe to call more than once and after a failed commit. Never throws. */
    void abort();

    /** Where the archive goes, for messages and the result (a path, or a description of a channel). */
    String describe();
}
