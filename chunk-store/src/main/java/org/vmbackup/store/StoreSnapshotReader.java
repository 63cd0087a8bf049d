package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ReadableByteChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's {@link SnapshotReader}: indexes loaded and checked at open, chunks through a bounded cache with
 * read-ahead of the next chunks when a disk is read sequentially.
 */
final class StoreSnapshotReader implements SnapshotReader {
    private static final Logger LOG = LoggerFactory.getLogger(StoreSnapshotReader.class);
    /** Chunks read ahead of a sequential reader on a local store: the disk and the CPUs do the rest. */
    private static final int READ_AHEAD = 2;
    /** The most decoded bytes a reader keeps ahead, however many requests its backend serves at once. */
    private static final int READ_AHEAD_BYTES = 32 << 20;
    private static final byte[] ZEROS = new byte[64 << 10];
    private static final String VMSTATE = "VM state";
    private final StoreContext ctx;
    private final Manifest manifest;
    private final SnapshotInfo info;
    private final List<FixedIndex> disks = new ArrayList<>();
    private final ChunkCache cache;
    /** Per disk: the chunk after the last one read, to see sequential access. */
    private final AtomicLongArray nextExpected;
    /**
     * Chunks fetched ahead of a sequential read: a remote backend waits a round trip per request, so as many as it
     * serves at once (S3: 16), bounded in bytes; a local one {@link #READ_AHEAD}.
     */
    private final int readAhead;
    /** The VM state's index, read ahead by {@link #prefetchVmstate()}; null until then. */
    private volatile CompletableFuture<StreamIndex> vmstateIndex;

    StoreSnapshotReader(StoreContext ctx, Manifest manifest) throws IOException {
        this.ctx = ctx;
        this.manifest = manifest;
        this.info = manifest.info();
        try {
            for (int i = 0; i < manifest.disks().size(); i++) {
                disks.add(ctx.readDiskIndex(manifest, i));
            }
        } catch (IOException | RuntimeException e) {
            disks.forEach(FixedIndex::close);
            throw e;
        }
        this.readAhead = Math.max(READ_AHEAD, Math.min(ctx.backend.parallelism(),
                READ_AHEAD_BYTES / ctx.config.chunkSize()));
        this.cache = new ChunkCache(ctx, ctx.threads + 2 * readAhead + 4);
        this.nextExpected = new AtomicLongArray(disks.size());
    }

    @Override
    public SnapshotInfo info() {
        return info;
    }

    private FixedIndex index(int disk) {
        if (disk < 0 || disk >= disks.size()) {
            throw new IllegalArgumentException("snapshot " + info.id() + " has no disk number " + disk);
        }
        return disks.get(disk);
    }

    String place(int disk, long offset) {
        return "snapshot " + info.id() + ", disk " + disk + " (" + info.disks().get(disk).name() + ") offset " + offset;
    }

    @Override
    public int read(int disk, long offset, ByteBuffer dst) throws IOException {
        FixedIndex idx = index(disk);
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        if (offset >= idx.size()) {
            return -1;
        }
        int total = 0;
        long pos = offset;
        int cs = idx.chunkSize();
        while (dst.hasRemaining() && pos < idx.size()) {
            int ci = (int) (pos / cs);
            int in = (int) (pos % cs);
            int n = (int) Math.min(dst.remaining(), idx.chunkLength(ci) - in);
            if (idx.isHole(ci)) {
                for (int k = 0; k < n; k += ZEROS.length) {
                    dst.put(ZEROS, 0, Math.min(ZEROS.length, n - k));
                }
            } else {
                readAhead(disk, idx, ci);
                byte[] digest = idx.digest(ci);
                byte[] plain = cache.get(digest, place(disk, (long) ci * cs));
                checkLength(idx, ci, digest, plain, disk);
                dst.put(plain, in, n);
            }
            pos += n;
            total += n;
        }
        return total;
    }

    private void checkLength(FixedIndex idx, int ci, byte[] digest, byte[] plain, int disk) throws CorruptDataException {
        if (plain.length != idx.chunkLength(ci)) {
            throw new CorruptDataException("chunk " + Digests.hex(digest) + " (" + place(disk, (long) ci * idx.chunkSize())
                    + ") has " + plain.length + " bytes, the disk's chunk there has " + idx.chunkLength(ci));
        }
    }

    private void readAhead(int disk, FixedIndex idx, int ci) throws IOException {
        long expected = nextExpected.getAndSet(disk, ci + 1L);
        if (expected != ci && expected != ci + 1L) {
            return;
        }
        for (int k = ci + 1; k <= ci + readAhead && k < idx.count(); k++) {
            if (!idx.isHole(k)) {
                cache.fetch(idx.digest(k), place(disk, (long) k * idx.chunkSize()));
            }
        }
    }

    /**
     * An index page that cannot be fetched (the snapshot was pruned meanwhile) makes the run end there, and a
     * run starting there data: always a true answer, and the read of it reports the error.
     */
    @Override
    public Extent blockStatus(int disk, long offset, long maxLength) {
        FixedIndex idx = index(disk);
        if (offset < 0 || offset >= idx.size() || maxLength < 1) {
            throw new IllegalArgumentException("block status at " + offset + " of a " + idx.size() + "-byte disk");
        }
        int cs = idx.chunkSize();
        int ci = (int) (offset / cs);
        long end = Math.min(idx.size(), (long) (ci + 1) * cs);
        long limit = Math.min(idx.size(), offset + maxLength);
        boolean hole;
        try {
            hole = idx.isHole(ci);
            while (end < limit && idx.isHole((int) (end / cs)) == hole) {
                end = Math.min(idx.size(), end + cs);
            }
        } catch (IOException e) {
            LOG.debug("{}: block status stops at offset {}: {}", info.id(), end, e.getMessage());
            hole = false;
            end = Math.min(idx.size(), (long) (ci + 1) * cs);
        }
        return new Extent(offset, Math.min(end, limit) - offset, hole);
    }

    @Override
    public void visitData(int disk, DataVisitor visitor) throws IOException {
        FixedIndex idx = index(disk);
        ArrayDeque<Integer> order = new ArrayDeque<>();
        ArrayDeque<byte[]> digests = new ArrayDeque<>();
        ArrayDeque<CompletableFuture<byte[]>> pending = new ArrayDeque<>();
        int window = ctx.threads * 2;
        int next = 0;
        // decoding runs ahead on the workers (a window of chunks), the visitor sees them in order
        ChunkCache own = new ChunkCache(ctx, window + 1);
        while (true) {
            while (pending.size() < window && next < idx.count()) {
                if (!idx.isHole(next)) {
                    byte[] digest = idx.digest(next);
                    order.add(next);
                    digests.add(digest);
                    pending.add(own.fetch(digest, place(disk, (long) next * idx.chunkSize())));
                }
                next++;
            }
            if (pending.isEmpty()) {
                return;
            }
            int ci = order.poll();
            byte[] plain = ChunkCache.await(pending.poll());
            checkLength(idx, ci, digests.poll(), plain, disk);
            visitor.accept((long) ci * idx.chunkSize(), ByteBuffer.wrap(plain).asReadOnlyBuffer());
        }
    }

    @Override
    public ReadableByteChannel vmstate() throws IOException {
        if (manifest.vmstate().isEmpty()) {
            throw new StoreException("snapshot " + info.id() + " has no VM state");
        }
        CompletableFuture<StreamIndex> early = vmstateIndex;
        if (early != null) {
            try {
                return new StreamReader(early.get(), VMSTATE);
            } catch (java.util.concurrent.ExecutionException e) {
                // read again below: a failure is reported as without the prefetch (and a passing one retried)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while reading the VM state's index");
            }
        }
        return new StreamReader(ctx.readStreamIndex(manifest, manifest.vmstate().get(), VMSTATE), VMSTATE);
    }

    /**
     * Reads the VM state's index and starts fetching its first chunks into the cache, on the store's workers: as
     * many as the read-ahead holds in bytes ({@link #READ_AHEAD_BYTES}; a remote store's requests then overlap
     * what the caller does meanwhile), never more than the cache keeps beside a reader's own read-ahead.
     */
    @Override
    public synchronized void prefetchVmstate() {
        if (manifest.vmstate().isEmpty() || vmstateIndex != null) {
            return;
        }
        CompletableFuture<StreamIndex> f = new CompletableFuture<>();
        vmstateIndex = f;
        int chunks = Math.max(readAhead, Math.min(2 * readAhead, READ_AHEAD_BYTES / ctx.config.chunkSize()));
        try {
            ctx.workers.execute(() -> {
                try {
                    StreamIndex index = ctx.readStreamIndex(manifest, manifest.vmstate().get(), VMSTATE);
                    f.complete(index);
                    for (int k = 0; k < chunks && k < index.entries().size(); k++) {
                        if (!Digests.isHole(index.entries().get(k).digest())) {
                            cache.fetch(index.entries().get(k).digest(), streamPlace(VMSTATE, index, k));
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    f.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            f.completeExceptionally(new StoreException("the store is closed"));
        }
    }

    private String streamPlace(String label, StreamIndex index, int entry) {
        return "snapshot " + info.id() + ", " + label + " offset " + index.start(entry);
    }

    @Override
    public byte[] config(String name) throws IOException {
        for (Manifest.StreamEntry e : manifest.configs()) {
            if (e.name().equals(name)) {
                byte[] out = new byte[Math.toIntExact(e.size())];
                ByteBuffer b = ByteBuffer.wrap(out);
                String label = "config " + name;
                try (StreamReader r = new StreamReader(ctx.readStreamIndex(manifest, e, label), label)) {
                    while (b.hasRemaining() && r.read(b) >= 0) {
                        // until full
                    }
                }
                return out;
            }
        }
        throw new StoreException("snapshot " + info.id() + " has no config " + name);
    }

    /** Reads a stream (VM state, config) sequentially, fetching the next chunk ahead. */
    private final class StreamReader implements ReadableByteChannel {
        private final StreamIndex index;
        private final String label;
        private int entry;
        private ByteBuffer current = ByteBuffer.allocate(0);
        private boolean open = true;

        StreamReader(StreamIndex index, String label) {
            this.index = index;
            this.label = label;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (!open) {
                throw new ClosedChannelException();
            }
            while (!current.hasRemaining()) {
                if (entry >= index.entries().size()) {
                    return -1;
                }
                StreamIndex.Entry e = index.entries().get(entry);
                int len = (int) (e.end() - index.start(entry));
                if (Digests.isHole(e.digest())) {
                    current = ByteBuffer.allocate(len);
                } else {
                    for (int k = entry + 1; k <= entry + readAhead && k < index.entries().size(); k++) {
                        if (!Digests.isHole(index.entries().get(k).digest())) {
                            cache.fetch(index.entries().get(k).digest(), where(k));
                        }
                    }
                    byte[] plain = cache.get(e.digest(), where(entry));
                    if (plain.length != len) {
                        throw new CorruptDataException("chunk " + Digests.hex(e.digest()) + " (" + where(entry)
                                + ") has " + plain.length + " bytes, its index says " + len);
                    }
                    current = ByteBuffer.wrap(plain);
                }
                entry++;
            }
            int n = Math.min(dst.remaining(), current.remaining());
            dst.put(current.duplicate().limit(current.position() + n));
            current.position(current.position() + n);
            return n;
        }

        private String where(int i) {
            return streamPlace(label, index, i);
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            open = false;
        }
    }

    @Override
    public void close() {
        cache.clear();
        disks.forEach(FixedIndex::close);
    }
}
