package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's {@link SnapshotWriter}: disk and VM state chunks are stored by the store's workers as they
 * complete; commit writes the indexes and then the manifest (FORMAT.md, "Writing a snapshot").
 */
final class StoreSnapshotWriter implements SnapshotWriter, DiskAssembler.Sealer, StreamChunker.Sealer {
    private static final Logger LOG = LoggerFactory.getLogger(StoreSnapshotWriter.class);

    private enum State { OPEN, COMMITTING, COMMITTED, ABORTED }

    private final StoreContext ctx;
    private final SnapshotSpec spec;
    private final String marker;
    private final ChunkBufferPool pool;
    private final ChunkSyncer syncer;
    private final List<DiskAssembler> disks = new ArrayList<>();
    private final AtomicReference<IOException> failure = new AtomicReference<>();
    private final List<String> written = new ArrayList<>();
    private StreamChunker vmstate;
    /** The stream indexes (VM state, configs) writeIndexes stored, for the {@link ReuseCheck}. */
    private final List<StreamIndex> streams = new ArrayList<>();
    /** The touches of the chunks incremental disks inherit from the parent, running from create on. */
    private final ParentTouches touches;
    private int inflight;
    private State state = State.OPEN;

    StoreSnapshotWriter(StoreContext ctx, SnapshotSpec spec, String marker, List<FixedIndex> parents,
            ParentTouches touches) throws IOException {
        this.ctx = ctx;
        this.touches = touches;
        this.spec = spec;
        this.marker = marker;
        this.syncer = new ChunkSyncer(ctx.backend, spec.id().toString());
        // a buffer per worker being stored and as many again filling: with fewer, NBD writes find none free and
        // are copied in instead of landing in place (store-bench.sh counts both)
        this.pool = new ChunkBufferPool(ctx.config.chunkSize(), 4 * ctx.threads + 2 * spec.disks().size() + 2);
        try {
            for (int i = 0; i < spec.disks().size(); i++) {
                disks.add(new DiskAssembler(ctx, i, spec.disks().get(i), parents.get(i), spec.parent().orElse(null), pool, this));
            }
        } catch (IOException | RuntimeException e) {
            disks.forEach(d -> d.index.close()); // the parents are the caller's to close
            throw e;
        }
        pool.spiller(() -> {
            for (DiskAssembler d : disks) {
                if (d.spillOne()) {
                    return true;
                }
            }
            return false;
        });
    }

    private DiskAssembler disk(int disk) throws IOException {
        checkUsable();
        if (disk < 0 || disk >= disks.size()) {
            throw new StoreException("snapshot " + spec.id() + " has no disk number " + disk);
        }
        return disks.get(disk);
    }

    private void checkUsable() throws IOException {
        IOException f = failure.get();
        if (f != null) {
            throw new StoreException("snapshot " + spec.id() + ": writing failed earlier: " + f.getMessage(), f);
        }
        synchronized (this) {
            if (state != State.OPEN && state != State.COMMITTING) {
                throw new StoreException("snapshot " + spec.id() + ": the writer is " + state.name().toLowerCase());
            }
        }
    }

    /** The writer's buffer pool, for tests of the memory bound. */
    ChunkBufferPool pool() {
        return pool;
    }

    @Override
    public void write(int disk, long offset, ByteBuffer data) throws IOException {
        disk(disk).write(offset, data);
    }

    @Override
    public void writeZeroes(int disk, long offset, long length) throws IOException {
        disk(disk).writeZeroes(offset, length);
    }

    @Override
    public InPlaceWrite tryReserve(int disk, long offset, int length) {
        if (failure.get() != null || disk < 0 || disk >= disks.size()) {
            return null;
        }
        return disks.get(disk).tryReserve(offset, length,
                () -> fail(new StoreException(disks.get(disk).place(offset) + ": an in-place write was abandoned")));
    }

    @Override
    public synchronized WritableByteChannel vmstateChannel() throws IOException {
        checkUsable();
        if (!spec.vmstate()) {
            throw new StoreException("snapshot " + spec.id() + " was created without a VM state");
        }
        if (vmstate != null) {
            throw new StoreException("snapshot " + spec.id() + ": the VM state stream was opened already");
        }
        vmstate = new StreamChunker(pool, this);
        return vmstate;
    }

    private void fail(IOException e) {
        if (failure.compareAndSet(null, e)) {
            LOG.warn("snapshot {}: {}", spec.id(), e.getMessage());
        }
    }

    private void submit(Runnable task, ByteBuffer buffer) {
        synchronized (this) {
            inflight++;
        }
        try {
            ctx.workers.execute(() -> {
                try {
                    task.run();
                } finally {
                    pool.releaseSealed(buffer);
                    synchronized (this) {
                        inflight--;
                        notifyAll();
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            pool.releaseSealed(buffer);
            synchronized (this) {
                inflight--;
                notifyAll();
            }
            fail(new StoreException("the store is closed"));
        }
    }

    @Override
    public void seal(DiskAssembler d, int chunk, ByteBuffer data, ByteBuffer buffer,
            java.util.concurrent.CompletableFuture<Long> stored) {
        submit(() -> {
            if (failure.get() != null) {
                if (stored != null) {
                    stored.completeExceptionally(failure.get());
                }
                return;
            }
            try {
                ChunkStoring.Stored s = ChunkStoring.store(ctx, data, syncer);
                d.index.set(chunk, s.digest());
                d.bytesNew.addAndGet(s.bytesNew());
                if (stored != null) {
                    stored.complete(s.bytesNew());
                }
            } catch (IOException | RuntimeException e) {
                if (stored != null) {
                    stored.completeExceptionally(e);
                }
                fail(new StoreException("cannot store the chunk of " + d.place((long) chunk * ctx.config.chunkSize())
                        + " in store " + ctx.where() + ": " + e.getMessage(), e));
            }
        }, buffer);
    }

    @Override
    public void seal(StreamChunker stream, int slot, ByteBuffer data, ByteBuffer buffer) {
        submit(() -> {
            if (failure.get() != null) {
                return;
            }
            try {
                ChunkStoring.Stored s = ChunkStoring.store(ctx, data, syncer);
                stream.setDigest(slot, s.digest());
                stream.bytesNew.addAndGet(s.bytesNew());
            } catch (IOException | RuntimeException e) {
                fail(new StoreException("cannot store a VM state chunk in store " + ctx.where() + ": " + e.getMessage(), e));
            }
        }, buffer);
    }

    private synchronized void awaitIdle() throws IOException {
        while (inflight > 0) {
            try {
                wait(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while storing chunks");
            }
        }
    }

    @Override
    public SnapshotInfo commit() throws IOException {
        synchronized (this) {
            checkUsable();
            if (state != State.OPEN) {
                throw new StoreException("snapshot " + spec.id() + ": commit called twice");
            }
            state = State.COMMITTING;
        }
        try {
            if (spec.vmstate() && (vmstate == null || vmstate.isOpen())) {
                throw new StoreException("snapshot " + spec.id() + ": the VM state stream was not written and closed");
            }
            long t0 = System.nanoTime();
            for (DiskAssembler d : disks) {
                d.finish();
            }
            awaitIdle();
            checkUsable();
            long t1 = System.nanoTime();
            OptionalLong touched = touches.await();
            long t2 = System.nanoTime();
            Manifest m = writeIndexes();
            long t3 = System.nanoTime();
            // every chunk the indexes name is durable before the manifest makes them reachable
            long synced = syncer.finish();
            LOG.debug("snapshot {}: {} chunk objects synced before the manifest (ms: last chunks {}, parent touches {},"
                    + " indexes {}, sync {})", spec.id(), synced, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000,
                    (t3 - t2) / 1_000_000, (System.nanoTime() - t3) / 1_000_000);
            ReuseCheck.check(ctx, spec.id(), lastReuse(touched), disks.stream().map(d -> d.index).toList(), streams);
            // the commit point, holding the lock abort() takes to flip the state: an abort from another thread
            // either came first (then no manifest: abort deletes the indexes) or waits and finds it committed
            synchronized (this) {
                if (state != State.COMMITTING) {
                    throw new StoreException("snapshot " + spec.id() + " was aborted during its commit");
                }
                try {
                    ctx.backend.publish(Manifest.objectName(spec.id()), ByteBuffer.wrap(m.encode(ctx.manifestKey)));
                } catch (IOException | RuntimeException e) {
                    if (!manifestStoredDespite(e)) {
                        throw e;
                    }
                }
                state = State.COMMITTED;
            }
            // its rename (and the indexes' before it: the same directory) durable before the commit returns, so a
            // power cut after a reported success cannot take the snapshot away (a directory fsync; nothing on S3)
            ctx.backend.sync(List.of(Manifest.objectName(spec.id())));
            deleteMarker();
            syncer.close();
            closeIndexes();
            logInPlace();
            LOG.info("snapshot {} committed: {} bytes new", spec.id(), m.bytesNew());
            return m.info();
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
    }

    /**
     * Whether the manifest is stored although its publish failed: an S3 PUT whose answer was lost after the server
     * stored it. Then the snapshot is complete and visible (its id is this writer's alone: create refused an
     * existing one, and the writer marker keeps out a second writer), and an abort would delete the indexes of a
     * snapshot that others already list.
     */
    private boolean manifestStoredDespite(Exception failure) {
        try {
            if (manifestStored(failure)) {
                return true;
            }
            // A PUT the client gave up on may still be carried out by the server (within the backend's window, as
            // a DELETE is). Aborting before that (indexes and marker deleted) would let a manifest land that lists
            // a snapshot without its indexes and with its chunks unprotected: so the abort waits it out.
            return ctx.backend.awaitLateLanding(failure) && manifestStored(failure);
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
        return false;
    }

    private boolean manifestStored(Exception failure) throws IOException {
        if (ctx.backend.stat(Manifest.objectName(spec.id())).isPresent()) {
            LOG.warn("snapshot {}: storing the manifest reported '{}', but it is stored: committed", spec.id(),
                    failure.getMessage());
            return true;
        }
        return false;
    }

    private void logInPlace() {
        for (DiskAssembler d : disks) {
            LOG.info("snapshot {} disk {}: {} writes ({} bytes) landed in chunk buffers in place, {} ({} bytes) were copied",
                    spec.id(), d.spec.name(), d.inPlaceWrites.get(), d.inPlaceBytes.get(), d.copiedWrites.get(),
                    d.copiedBytes.get());
        }
    }

    /** The last reuse of a chunk: the syncer's, or the last touch of the parent's chunks. */
    private OptionalLong lastReuse(OptionalLong touched) {
        OptionalLong r = syncer.lastReuse();
        if (touched.isPresent() && (r.isEmpty() || touched.getAsLong() - r.getAsLong() > 0)) {
            return touched;
        }
        return r;
    }

    private Manifest writeIndexes() throws IOException {
        String dir = Manifest.dir(spec.id());
        List<Manifest.DiskEntry> de = new ArrayList<>();
        long total = 0;
        for (DiskAssembler d : disks) {
            String name = "disk-" + d.number + ".fidx";
            synchronized (this) {
                written.add(dir + name);
            }
            // streamed from the index's temporary file: never a second copy of it on the heap
            String sha = d.index.publish(ctx.backend, dir + name);
            de.add(new Manifest.DiskEntry(d.spec.name(), d.spec.size(), ctx.config.chunkSize(), d.spec.incremental(),
                    d.bytesNew.get(), name, sha));
            total += d.bytesNew.get();
        }
        Optional<Manifest.StreamEntry> vm = Optional.empty();
        if (vmstate != null) {
            streams.add(vmstate.index());
            String sha = putIndex(dir + "vmstate.didx", vmstate.index().encode());
            vm = Optional.of(new Manifest.StreamEntry("vmstate", vmstate.length(), "vmstate.didx", sha));
            total += vmstate.bytesNew.get();
        }
        List<Manifest.StreamEntry> configs = new ArrayList<>();
        int n = 0;
        for (var c : spec.configs().entrySet()) {
            List<StreamIndex.Entry> entries = new ArrayList<>();
            byte[] bytes = c.getValue();
            for (int pos = 0; pos < bytes.length; pos += ctx.config.chunkSize()) {
                int len = Math.min(ctx.config.chunkSize(), bytes.length - pos);
                ChunkStoring.Stored s = ChunkStoring.store(ctx, ByteBuffer.wrap(bytes, pos, len), syncer);
                total += s.bytesNew();
                entries.add(new StreamIndex.Entry(pos + len, s.digest()));
            }
            String name = "config-" + n++ + ".didx";
            StreamIndex index = new StreamIndex(entries);
            streams.add(index);
            configs.add(new Manifest.StreamEntry(c.getKey(), bytes.length, name, putIndex(dir + name, index.encode())));
        }
        return new Manifest(spec.id(), spec.parent(), Instant.now(), de, vm, configs, total);
    }

    private String putIndex(String name, byte[] data) throws IOException {
        synchronized (this) {
            written.add(name);
        }
        ctx.backend.publish(name, ByteBuffer.wrap(data));
        return Digests.hex(Digests.sha256(data, 0, data.length));
    }

    private void deleteMarker() {
        try {
            ctx.backend.delete(marker);
        } catch (IOException | RuntimeException e) {
            LOG.warn("snapshot {}: cannot remove writer marker {}: {}", spec.id(), marker, e.getMessage());
        }
    }

    @Override
    public void abort() {
        List<String> toDelete;
        synchronized (this) {
            if (state == State.ABORTED || state == State.COMMITTED) {
                return;
            }
            state = State.ABORTED;
            toDelete = new ArrayList<>(written);
        }
        failure.compareAndSet(null, new StoreException("snapshot " + spec.id() + " was aborted"));
        touches.cancel();
        try {
            awaitIdle();
        } catch (IOException e) {
            LOG.warn("snapshot {}: abort interrupted while chunks were being stored", spec.id());
        }
        for (String name : toDelete) {
            try {
                ctx.backend.delete(name);
            } catch (IOException | RuntimeException e) {
                LOG.warn("snapshot {}: cannot remove {}: {} (gc will)", spec.id(), name, e.getMessage());
            }
        }
        deleteMarker();
        syncer.close();
        closeIndexes();
    }

    /**
     * The disks' temporary index files and the parents' page caches. A parent touch still running after an abort
     * only fetches its pages again.
     */
    private void closeIndexes() {
        for (DiskAssembler d : disks) {
            d.index.close();
            if (d.parent != null) {
                d.parent.close();
            }
        }
    }

    @Override
    public void close() {
        abort();
    }
}
