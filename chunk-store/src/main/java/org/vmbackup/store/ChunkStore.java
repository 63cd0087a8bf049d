package org.vmbackup.store;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A deduplicating store of VM snapshots on a {@link StoreBackend}: each snapshot is logically full, only chunks
 * not yet in the store cost space. Thread-safe; several processes may use one store at once (different VMs'
 * backups, list, verify, prune, one gc). The layout is in {@code FORMAT.md}.
 */
public final class ChunkStore implements AutoCloseable {
    /** The default time a gc spares unreferenced chunks touched before it started (clock skew between hosts). */
    public static final Duration DEFAULT_GC_GRACE = Duration.ofMinutes(5);

    private ChunkStore() {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Creates a new store on {@code backend}, which must hold no store yet.
     *
     * @param backend where the objects go
     * @param options chunk size, compression, key
     * @return the open store
     * @throws IOException when a store (or anything else) is there already, or it cannot be written
     */
    public static ChunkStore init(StoreBackend backend, StoreOptions options) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Creates a new store in directory {@code dir} (created if missing; must be empty if it exists).
     *
     * @param dir the directory
     * @param options chunk size, compression, key
     * @return the open store
     * @throws IOException when {@code dir} is a file, not empty, or cannot be written
     */
    public static ChunkStore init(Path dir, StoreOptions options) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Opens the store on {@code backend}. Writes nothing.
     *
     * @param backend where the objects are
     * @param key the key of an encrypted store
     * @return the open store
     * @throws StoreException when it is not a store, of a newer format version, encrypted and no or a wrong key
     *     is given, or a key is given for a store in the clear
     * @throws IOException when it cannot be read
     */
    public static ChunkStore open(StoreBackend backend, Optional<StoreKey> key) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Opens the store in directory {@code dir}.
     *
     * @param dir the directory
     * @param key the key of an encrypted store
     * @return the open store
     * @throws IOException as {@link #open(StoreBackend, Optional)}, or when {@code dir} is missing or a file
     */
    public static ChunkStore open(Path dir, Optional<StoreKey> key) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Starts writing a snapshot. It is invisible until its writer commits.
     *
     * @param spec what it will hold
     * @return its writer
     * @throws IOException when the id exists or is being written, or the parent is missing or unusable
     */
    public SnapshotWriter create(SnapshotSpec spec) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Opens a committed snapshot for reading.
     *
     * @param id the snapshot
     * @return its reader
     * @throws IOException when there is no such snapshot or its manifest is damaged
     */
    public SnapshotReader open(SnapshotId id) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * The committed snapshots, sorted by VM then instant.
     *
     * @param vm only this VM's, or all
     * @return their descriptions
     * @throws IOException when the store cannot be listed or a manifest is damaged
     */
    public List<SnapshotInfo> list(Optional<String> vm) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Re-reads and re-hashes every chunk of the given snapshots (all when empty), and checks their manifests and
     * indexes.
     *
     * @param ids the snapshots
     * @return what was checked and what is damaged
     * @throws IOException when the store cannot be read at all (damage is reported, not thrown)
     */
    public VerifyReport verify(Collection<SnapshotId> ids) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Removes the snapshots of {@code vm} that {@code policy} does not keep (their chunks go at the next gc).
     *
     * @param vm the VM
     * @param policy what to keep
     * @param dryRun only report
     * @return kept and removed snapshots
     * @throws IOException when the store cannot be listed or written
     */
    public PruneResult prune(String vm, RetentionPolicy policy, boolean dryRun) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Deletes the chunks no snapshot references, with the default grace {@link #DEFAULT_GC_GRACE}.
     *
     * @return what was removed
     * @throws IOException when another gc runs (named in the message) or the store cannot be read
     */
    public GcResult gc() throws IOException {
        return gc(DEFAULT_GC_GRACE);
    }

    /**
     * Deletes the chunks no snapshot references and that nobody touched since the gc's start (or the start of
     * the oldest running backup, if earlier) minus {@code grace}. Safe while backups run.
     *
     * @param grace the margin for clocks that differ between writers (zero on one host)
     * @return what was removed
     * @throws IOException when another gc runs (named in the message) or the store cannot be read
     */
    public GcResult gc(Duration grace) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** @return the store's chunk size */
    public int chunkSize() {
        throw new UnsupportedOperationException("not yet");
    }

    /** @return true when the store is encrypted */
    public boolean encrypted() {
        throw new UnsupportedOperationException("not yet");
    }

    /** @return where the store is, for messages */
    public String describe() {
        throw new UnsupportedOperationException("not yet");
    }

    /** Closes the backend and the store's threads. */
    @Override
    public void close() throws IOException {
        throw new UnsupportedOperationException("not yet");
    }
}
