package org.vmbackup.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import org.vmbackup.core.vma.VmaSources;

/**
 * An archive being read by a restore: the mirror of {@link ArchiveSink}, and the pluggable part that makes restores
 * format independent. A source tells the archive's {@link #layout()} (config blobs, disks with exact sizes, whether
 * a VM state follows and how big it is thought to be) and then gives the stored data in one of two ways:
 *
 * <ul>
 *   <li>{@link #read(ArchiveVisitor)}: one pass over everything stored, in the order the archive stores it, as runs
 *       of data or zeros per disk plus the VM state in order. Every source offers it; a consumer writes the runs
 *       out at their offsets and never holds a whole disk.</li>
 *   <li>{@link #disk(int)} and {@link #vmstate()}: random access with block status, and the VM state as a stream,
 *       only where {@link #randomAccess()} says so (a seekable VMA file, a directory archive). A sequential-only
 *       source names itself in the {@link UnsupportedOperationException} it throws there.</li>
 * </ul>
 *
 * <p>Errors in the archive (truncated, corrupt, inconsistent) are {@link IOException}s naming the archive and where
 * in it. A source passes on only data whose framing checked out (a VMA extent whose header is intact, a file of the
 * size the manifest says); whether a sequential archive is complete is known only when {@link #read} returns, so
 * a consumer keeps its output under a temporary name until then. Memory stays bounded whatever the disk sizes.
 * Not thread-safe, except the {@link RandomAccessDisk}s it hands out.
 */
public interface ArchiveSource extends AutoCloseable {
    /** What the archive holds; a disk's index in {@link ArchiveLayout#disks()} is the disk number used here. */
    ArchiveLayout layout();

    /** Whether {@link #disk(int)} and {@link #vmstate()} work (else only {@link #read} does). */
    boolean randomAccess();

    /**
     * Passes everything stored to {@code visitor} on the calling thread, in archive order; every byte of every disk
     * is covered exactly once, by a data or a zero run. A sequential-only source can do this once.
     *
     * @throws IOException naming the archive and where, when it is truncated, corrupt or incomplete (runs already
     *     passed on were checked; the consumer discards its partial output), or what {@code visitor} threw
     */
    void read(ArchiveVisitor visitor) throws IOException;

    /**
     * Random access to disk number {@code index}; valid until the source is closed. Thread-safe.
     *
     * @throws UnsupportedOperationException when the source is sequential only (the message names it)
     * @throws IOException when the archive cannot be indexed (corrupt, truncated)
     */
    RandomAccessDisk disk(int index) throws IOException;

    /**
     * The VM state stream from its start; the caller closes it. Only when {@link ArchiveLayout#hasVmstate()}.
     *
     * @throws UnsupportedOperationException when the source is sequential only: its VM state comes through
     *     {@link #read} (in a VMA stream it lies between the disk data)
     * @throws IOException when the archive has no VM state or cannot be read
     */
    ReadableByteChannel vmstate() throws IOException;

    /**
     * Starts fetching the start of the VM state in the background where that is worth it (a chunk store, whose
     * every chunk is a request to its backend), for a caller that reads {@link #vmstate()} soon. Bounded; a failure
     * is reported by {@link #vmstate()}, not here.
     */
    default void prefetchVmstate() {
    }

    /**
     * Archive bytes {@link #read} went through so far (for a compressed VMA: decompressed), for results and
     * throughput figures; 0 when the source does not count them.
     */
    default long bytesRead() {
        return 0;
    }

    /** The archive, for messages: its path, or a description of the stream. */
    String describe();

    /** Releases the files; disks and streams handed out stop working. */
    @Override
    void close() throws IOException;

    /**
     * Opens the archive at {@code path}, recognised by content: a directory holding a directory archive's manifest
     * ({@link DirectoryArchiveSink}), or a VMA file, uncompressed (random access) or zstd/gzip compressed (sequential
     * only). Anything else fails with a one-line message saying what was found.
     *
     * @throws IOException when the path is missing, not an archive, or its header is corrupt
     */
    static ArchiveSource open(Path path) throws IOException {
        return ArchiveSources.open(path);
    }

    /**
     * Reads a VMA archive (uncompressed, zstd or gzip, recognised by content) from {@code in}, e.g. stdin:
     * sequential only. Closing the source closes the stream.
     *
     * @param description how messages name the stream (e.g. {@code "stdin"})
     */
    static ArchiveSource vmaStream(InputStream in, String description) throws IOException {
        return VmaSources.stream(in, description);
    }

    /**
     * Reads snapshot {@code id} of a chunk store (random access; every chunk checked against its digest). The store
     * stays open and owned by the caller; closing the source releases only the snapshot's reader.
     *
     * @throws IOException when the snapshot does not exist or its manifest or indexes are damaged
     */
    static ArchiveSource snapshot(org.vmbackup.store.ChunkStore store, org.vmbackup.store.SnapshotId id)
            throws IOException {
        return StoreArchiveSource.open(store, id);
    }
}
