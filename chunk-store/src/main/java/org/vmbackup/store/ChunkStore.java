package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A deduplicating store of VM snapshots on a {@link StoreBackend}: each snapshot is logically full, only chunks
 * not yet in the store cost space. Thread-safe; several processes may use one store at once (different VMs'
 * backups, list, verify, prune, one gc). The layout is in {@code FORMAT.md}.
 */
public final class ChunkStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkStore.class);
    /** The default time a gc spares unreferenced chunks touched before it started (clock skew between hosts). */
    public static final Duration DEFAULT_GC_GRACE = Duration.ofMinutes(5);

    private final StoreContext ctx;

    private ChunkStore(StoreContext ctx) {
        this.ctx = ctx;
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
        if (backend.stat(StoreConfig.NAME).isPresent()) {
            throw new StoreException("store " + backend.describe() + " exists already");
        }
        if (!backend.list("").isEmpty()) {
            throw new StoreException("store " + backend.describe() + " is not empty (init needs an empty directory)");
        }
        StoreConfig config = StoreConfig.create(options);
        if (!backend.putIfAbsent(StoreConfig.NAME, ByteBuffer.wrap(config.toJson()))) {
            throw new StoreException("store " + backend.describe() + " exists already");
        }
        return new ChunkStore(new StoreContext(backend, config, options.key()));
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
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new StoreException("store " + dir + " is a file, not a directory");
        }
        Files.createDirectories(dir);
        return init(new LocalBackend(dir), options);
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
        Optional<ByteBuffer> data = backend.get(StoreConfig.NAME);
        if (data.isEmpty()) {
            throw new StoreException("store " + backend.describe() + " is not a chunk store (it has no config)");
        }
        byte[] bytes = new byte[data.get().remaining()];
        data.get().get(bytes);
        StoreConfig config = StoreConfig.parse(bytes, backend.describe());
        config.checkKey(key, backend.describe());
        return new ChunkStore(new StoreContext(backend, config, key));
    }

    /**
     * Opens the store in directory {@code dir}, which must not be encrypted.
     *
     * @param dir the directory
     * @return the open store
     * @throws IOException as {@link #open(Path, Optional)}
     */
    public static ChunkStore open(Path dir) throws IOException {
        return open(dir, Optional.empty());
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
        return open(new LocalBackend(dir), key);
    }

    /**
     * Starts writing a snapshot. It is invisible until its writer commits.
     *
     * @param spec what it will hold
     * @return its writer
     * @throws IOException when the id exists or is being written, or the parent is missing or unusable
     */
    public SnapshotWriter create(SnapshotSpec spec) throws IOException {
        long t0 = System.nanoTime();
        SnapshotId id = spec.id();
        String marker = Markers.WRITERS + id.vm() + "_" + id.instantText();
        // the marker exists before anything is written or reused: a gc from now on spares what this writer
        // touches; taken with putIfAbsent, it also keeps a second writer of the same id out
        for (int attempt = 0;; attempt++) {
            if (Markers.take(ctx.backend, marker, Markers.content(id.toString(), Instant.now().minus(Markers.CLOCK_SLACK)))) {
                break;
            }
            Optional<Markers.Marker> m = Markers.read(ctx.backend, marker);
            if (attempt > 0 || m.isEmpty() || !m.get().dead()) {
                throw new StoreException("snapshot " + id + " is being written already"
                        + m.map(x -> " (" + x.describe() + ")").orElse(""));
            }
            ctx.backend.delete(marker); // left by a writer that was killed
        }
        if (ctx.backend.stat(Manifest.objectName(id)).isPresent()) {
            ctx.backend.delete(marker);
            throw new StoreException("snapshot " + id + " exists already in store " + describe());
        }
        ParentTouches touches = ParentTouches.NONE;
        List<FixedIndex> parents = new ArrayList<>();
        try {
            parentIndexes(spec, parents);
            if (spec.parent().isPresent()) {
                touches = ParentTouches.start(ctx, spec.parent().get(), spec.disks(), parents);
            }
            StoreSnapshotWriter w = new StoreSnapshotWriter(ctx, spec, marker, parents, touches);
            LOG.debug("snapshot {}: writer ready in {} ms", id, (System.nanoTime() - t0) / 1_000_000);
            return w;
        } catch (IOException | RuntimeException e) {
            touches.cancel();
            parents.forEach(p -> {
                if (p != null) {
                    p.close();
                }
            });
            ctx.backend.delete(marker);
            throw e;
        }
    }

    /**
     * Opens a committed snapshot for reading.
     *
     * @param id the snapshot
     * @return its reader
     * @throws IOException when there is no such snapshot or its manifest is damaged
     */
    public SnapshotReader open(SnapshotId id) throws IOException {
        return new StoreSnapshotReader(ctx, ctx.readManifest(id));
    }

    /**
     * The committed snapshots, sorted by VM then instant.
     *
     * @param vm only this VM's, or all
     * @return their descriptions
     * @throws IOException when the store cannot be listed or a manifest is damaged
     */
    public List<SnapshotInfo> list(Optional<String> vm) throws IOException {
        List<SnapshotInfo> out = new ArrayList<>();
        for (SnapshotId id : snapshotIds(vm)) {
            out.add(ctx.readManifest(id).info());
        }
        return out;
    }

    /**
     * One committed snapshot's description, from its manifest alone: cheaper than {@link #list} when the caller
     * knows which snapshot it wants (an incremental backup's parent, named by a dirty bitmap).
     *
     * @param id the snapshot
     * @return its description; empty when it does not exist (never committed, or pruned)
     * @throws IOException when the store cannot be read or the manifest is damaged
     */
    public Optional<SnapshotInfo> find(SnapshotId id) throws IOException {
        return ctx.readManifestIfPresent(id).map(Manifest::info);
    }

    /**
     * The committed snapshots like {@link #list}, but a damaged manifest does not hide the others: it is named in
     * {@link SnapshotListing#damaged()} with what is wrong, and a snapshot pruned while listing is left out.
     *
     * @param vm only this VM's, or all
     * @return the readable snapshots (sorted by VM then instant) and the damaged ones
     * @throws IOException when the store cannot be listed or read at all
     */
    public SnapshotListing listing(Optional<String> vm) throws IOException {
        List<SnapshotInfo> ok = new ArrayList<>();
        java.util.Map<SnapshotId, String> damaged = new java.util.LinkedHashMap<>();
        for (SnapshotId id : snapshotIds(vm)) {
            try {
                ctx.readManifestIfPresent(id).ifPresent(m -> ok.add(m.info()));
            } catch (CorruptDataException e) {
                damaged.put(id, e.getMessage());
            }
        }
        return new SnapshotListing(ok, damaged);
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
        return verify(ids, p -> { });
    }

    /**
     * {@link #verify(Collection)}, telling {@code progress} each time a snapshot is done (on the calling thread).
     *
     * @param ids the snapshots (all when empty)
     * @param progress called once per snapshot, in order
     * @return what was checked and what is damaged
     * @throws IOException when the store cannot be read at all (damage is reported, not thrown)
     */
    public VerifyReport verify(Collection<SnapshotId> ids, Consumer<VerifyProgress> progress) throws IOException {
        Objects.requireNonNull(progress, "progress");
        return new Verifier(ctx).verify(ids.isEmpty() ? snapshotIds(Optional.empty()) : List.copyOf(ids), progress);
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
        SnapshotId.checkVmName(vm);
        return Pruner.prune(ctx, snapshotIds(Optional.of(vm)), policy, dryRun);
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
        return new GarbageCollector(ctx, grace).run(() -> snapshotIds(Optional.empty()));
    }

    /**
     * The store's identity, fixed at {@code init}: a backup tool names what it keeps outside the store (dirty
     * bitmaps in QEMU) by it, so that it never takes state of another store for this one's.
     *
     * @return the store id
     */
    public String id() {
        return ctx.config.storeId();
    }

    /** @return the store's chunk size */
    public int chunkSize() {
        return ctx.config.chunkSize();
    }

    /** @return the store's zstd level, or {@link StoreOptions#NO_COMPRESSION} */
    public int compressionLevel() {
        return ctx.config.compressionLevel();
    }

    /** @return true when the store is encrypted */
    public boolean encrypted() {
        return ctx.config.encrypted();
    }

    /** @return where the store is, for messages */
    public String describe() {
        return ctx.where();
    }

    /** Closes the backend and the store's threads. */
    @Override
    public void close() throws IOException {
        ctx.close();
    }

    /** The ids of the committed snapshots (those with a manifest), sorted. */
    List<SnapshotId> snapshotIds(Optional<String> vm) throws IOException {
        vm.ifPresent(SnapshotId::checkVmName);
        List<SnapshotId> ids = new ArrayList<>();
        for (String name : ctx.backend.list("snapshots/" + vm.map(v -> v + "/").orElse(""))) {
            String[] parts = name.split("/");
            if (parts.length == 4 && parts[3].equals(Manifest.NAME)) {
                try {
                    ids.add(SnapshotId.parse(parts[1] + "/" + parts[2]));
                } catch (IllegalArgumentException e) {
                    // not a name this program writes: not a snapshot
                }
            }
        }
        ids.sort(null);
        return ids;
    }

    /** Adds, for each disk of {@code spec}: the parent's index when incremental, else null ({@link ParentTouches}). */
    private void parentIndexes(SnapshotSpec spec, List<FixedIndex> out) throws IOException {
        Manifest parent = null;
        for (DiskSpec d : spec.disks()) {
            if (!d.incremental()) {
                out.add(null);
                continue;
            }
            SnapshotId pid = spec.parent().orElseThrow();
            if (parent == null) {
                parent = ctx.readManifest(pid);
            }
            int n = -1;
            for (int i = 0; i < parent.disks().size(); i++) {
                if (parent.disks().get(i).name().equals(d.name())) {
                    n = i;
                }
            }
            if (n < 0) {
                throw new StoreException("parent " + pid + " has no disk " + d.name() + " (take a full copy of it)");
            }
            FixedIndex idx = ctx.readDiskIndex(parent, n);
            out.add(idx); // before the check: the caller closes what is in the list
            if (idx.size() != d.size() || idx.chunkSize() != ctx.config.chunkSize()) {
                throw new StoreException("disk " + d.name() + " is " + d.size() + " bytes, in parent " + pid + " "
                        + idx.size() + " (take a full copy of it)");
            }
        }
    }
}
