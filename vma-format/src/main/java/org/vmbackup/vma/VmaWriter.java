package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A streaming VMA encoder. Clusters may arrive in any order, in pieces of any size and alignment, from several
 * threads at once; they are packed into extents (58 clusters each by default) and written by a background thread.
 * Memory is bounded: a small pool of extent buffers (writers block when the output is slow) plus the clusters
 * still being assembled from pieces.
 *
 * <p>{@link #close()} checks that every cluster of every disk was written exactly once; only then does an archive
 * opened on a path appear under its final name (it is written to {@code <name>.part} first).
 */
public final class VmaWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VmaWriter.class);
    private final VmaHeader header;
    private final List<VmaDevice> devices;
    private final DeviceState[] states;
    private final int clustersPerExtent;
    private final int maxPartialClusters;
    private final OutputPump pump;
    private final Path tempFile;
    private final Path finalFile;
    private final ExtentHeaderCodec extentCodec;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<Long, PartialCluster> partials = new HashMap<>();
    /** The extent being filled, or null until a writer takes the next pool buffer ({@link #ensureExtent}). */
    private Extent current;
    /** Reservations handed out and neither committed nor abandoned. */
    private int pendingReservations;
    private volatile long extents;
    private VmstateChannel vmstate;
    private boolean closed;
    /** Set when the output failed or an extent could not be handed over; later calls fail with it as cause. */
    private RuntimeException failure;

    /**
     * One pool buffer being filled with clusters, guarded by the writer lock. It goes to the output once full
     * (sealed) and no in-place reservation in it is still being filled.
     */
    private static final class Extent {
        final ByteBuffer buf;
        final long[] slots = new long[SLOTS_PER_EXTENT];
        /** Per slot, the blocks holding data: less than the slot's stored blocks only for in-place clusters. */
        final int[] dataMasks = new int[SLOTS_PER_EXTENT];
        int slotCount;
        int blockCount;
        int pending;
        boolean sealed;
        boolean needsCompaction;

        Extent(ByteBuffer buf) {
            this.buf = buf;
        }
    }

    /** Per-device bookkeeping, guarded by the writer lock. */
    private static final class DeviceState {
        final VmaDevice device;
        final ClusterBitmap written = new ClusterBitmap();
        // written under the writer lock, read without it by stats() (which must not wait behind back-pressure)
        volatile long clusters;
        volatile long storedBytes;
        volatile long zeroBytes;

        DeviceState(VmaDevice device) {
            this.device = device;
        }
    }

    private VmaWriter(Builder b, WritableByteChannel out, Path tempFile, Path finalFile) {
        List<VmaDevice> devs = new ArrayList<>();
        for (int i = 0; i < b.deviceNames.size(); i++) {
            devs.add(new VmaDevice(i + 1, b.deviceNames.get(i), b.deviceSizes.get(i)));
        }
        this.devices = List.copyOf(devs);
        this.header = new VmaHeader(b.uuid, Instant.ofEpochSecond(b.ctime.getEpochSecond()), b.configs, devices, 0);
        this.states = new DeviceState[devices.size() + 1];
        for (VmaDevice d : devices) {
            states[d.id()] = new DeviceState(d);
        }
        this.clustersPerExtent = b.clustersPerExtent;
        this.maxPartialClusters = b.maxPartialClusters;
        this.tempFile = tempFile;
        this.finalFile = finalFile;
        this.extentCodec = new ExtentHeaderCodec(b.uuid);
        ByteBuffer head = HeaderCodec.encode(b.uuid, header.ctime(), b.configs, devices);
        this.pump = new OutputPump(out, b.bufferedExtents, MAX_EXTENT_SIZE);
        // buffer first: an output failing on the header is then reported by the first write or close, not
        // (depending on thread timing) by the constructor
        this.current = new Extent(pump.take());
        pump.submit(head, false);
    }

    /** A builder for the archive's metadata and the writer's options. */
    public static Builder builder() {
        return new Builder();
    }

    /** The archive metadata (header size is 0: not known to callers until written). */
    public VmaHeader header() {
        return header;
    }

    /** The devices in dev_id order. */
    public List<VmaDevice> devices() {
        return devices;
    }

    /** The device with this name. */
    public VmaDevice device(String name) {
        for (VmaDevice d : devices) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("no device named " + name + " in this archive");
    }

    private DeviceState state(VmaDevice dev) {
        Objects.requireNonNull(dev, "dev");
        if (dev.id() >= states.length || !states[dev.id()].device.equals(dev)) {
            throw new IllegalArgumentException("device " + dev + " does not belong to this writer");
        }
        return states[dev.id()];
    }

    /**
     * Stores device bytes {@code [offset, offset + data.remaining())}. Thread-safe; any order, size and alignment.
     * The data is consumed (copied) before this returns. May block while the output catches up. Bytes past the
     * device end but inside its last cluster are ignored.
     *
     * @throws VmaFormatException if a byte of the range was already written, or the range is outside the device
     */
    public void write(VmaDevice dev, long offset, ByteBuffer data) {
        DeviceState ds = state(dev);
        if (dev.isVmstate()) {
            throw new IllegalArgumentException("write the vmstate device through vmstateChannel()");
        }
        checkRange(dev, offset, data.remaining());
        int pos = data.position();
        int end = data.limit();
        long off = offset;
        while (pos < end) {
            long cluster = off >>> CLUSTER_SHIFT;
            int inCluster = (int) (off & (CLUSTER_SIZE - 1));
            int validLen = (int) Math.min(CLUSTER_SIZE, dev.size() - (cluster << CLUSTER_SHIFT));
            int piece = Math.min(end - pos, CLUSTER_SIZE - inCluster);
            if (inCluster == 0 && piece >= validLen) {
                int mask = ZeroBlocks.mask(data, pos, validLen);
                lock.lock();
                try {
                    ensureExtent();
                    if (partials.containsKey(key(dev, cluster))) {
                        throw writtenTwice(dev, cluster);
                    }
                    emit(ds, cluster, mask, data, pos, validLen);
                } finally {
                    lock.unlock();
                }
            } else {
                int pieceValid = Math.max(0, Math.min(piece, validLen - inCluster));
                if (pieceValid > 0) {
                    assemble(ds, cluster, inCluster, pieceValid, data, pos, validLen);
                }
            }
            pos += piece;
            off += piece;
        }
        data.position(end);
    }

    /**
     * Declares device bytes {@code [offset, offset + length)} as zeros: nothing is read or stored. Thread-safe.
     *
     * @throws VmaFormatException if a byte of the range was already written, or the range is outside the device
     */
    public void writeZeroes(VmaDevice dev, long offset, long length) {
        DeviceState ds = state(dev);
        if (dev.isVmstate()) {
            throw new IllegalArgumentException("write the vmstate device through vmstateChannel()");
        }
        checkRange(dev, offset, length);
        long off = offset;
        long end = offset + length;
        while (off < end) {
            long cluster = off >>> CLUSTER_SHIFT;
            int inCluster = (int) (off & (CLUSTER_SIZE - 1));
            int validLen = (int) Math.min(CLUSTER_SIZE, dev.size() - (cluster << CLUSTER_SHIFT));
            int piece = (int) Math.min(end - off, CLUSTER_SIZE - inCluster);
            if (inCluster == 0 && piece >= validLen) {
                lock.lock();
                try {
                    ensureExtent();
                    if (partials.containsKey(key(dev, cluster))) {
                        throw writtenTwice(dev, cluster);
                    }
                    emit(ds, cluster, 0, null, 0, validLen);
                } finally {
                    lock.unlock();
                }
            } else {
                int pieceValid = Math.max(0, Math.min(piece, validLen - inCluster));
                if (pieceValid > 0) {
                    assemble(ds, cluster, inCluster, pieceValid, null, 0, validLen);
                }
            }
            off += piece;
        }
    }

    /**
     * Reserves room in the archive for whole clusters of a disk to be filled in place, e.g. straight from a socket
     * (no copy through the caller's buffers). Never waits: returns {@code null} when the range is not whole
     * clusters of the disk, spans more than one extent's worth of clusters, or no extent buffer is free right now
     * (the output is behind); the caller then uses {@link #write} (which waits). Thread-safe.
     *
     * <p>The reserved clusters count as written at once (a second write of them fails). The caller fills
     * {@link Reservation#buffers()} and then calls exactly one of {@link Reservation#commit()} or
     * {@link Reservation#abandon()}; zero blocks found at commit cost nothing in the archive, as with
     * {@link #write}. Until then the reservation pins its extent buffer.
     *
     * @throws VmaFormatException if a cluster of the range was already written, or the writer failed
     */
    public Reservation tryReserve(VmaDevice dev, long offset, int length) {
        DeviceState ds = state(dev);
        if (dev.isVmstate() || length <= 0 || (offset & (CLUSTER_SIZE - 1)) != 0 || (length & (CLUSTER_SIZE - 1)) != 0
                || offset < 0 || offset + length > (dev.size() & -CLUSTER_SIZE)) {
            return null; // partial clusters (and the device's short last cluster) go through write()
        }
        int n = length >>> CLUSTER_SHIFT;
        if (n > clustersPerExtent) {
            return null;
        }
        long first = offset >>> CLUSTER_SHIFT;
        lock.lock();
        try {
            checkOpen();
            for (long c = first; c < first + n; c++) {
                if (ds.written.get(c) || partials.containsKey(key(dev, c))) {
                    throw writtenTwice(dev, c);
                }
            }
            if (current == null) {
                ByteBuffer b = poll();
                if (b == null) {
                    return null;
                }
                current = new Extent(b);
            }
            int room = clustersPerExtent - current.slotCount;
            ByteBuffer spare = null;
            if (room < n) {
                spare = poll();
                if (spare == null) {
                    return null;
                }
            }
            Reservation r = new Reservation(ds, offset, length);
            int inFirst = Math.min(room, n);
            r.add(place(ds, current, first, inFirst), current, current.slotCount - inFirst, inFirst);
            if (current.slotCount >= clustersPerExtent) {
                seal(current);
            }
            if (inFirst < n) {
                current = new Extent(spare);
                r.add(place(ds, current, first + inFirst, n - inFirst), current, 0, n - inFirst);
            }
            pendingReservations++;
            return r;
        } finally {
            lock.unlock();
        }
    }

    /** Appends {@code n} clusters with all blocks stored to {@code e} and returns their data region. Lock held. */
    private ByteBuffer place(DeviceState ds, Extent e, long cluster, int n) {
        int at = EXTENT_HEADER_SIZE + e.blockCount * BLOCK_SIZE;
        for (int i = 0; i < n; i++) {
            ds.written.testAndSet(cluster + i);
            e.dataMasks[e.slotCount] = FULL_MASK;
            e.slots[e.slotCount++] = ExtentHeaderCodec.slot(FULL_MASK, ds.device.id(), cluster + i);
        }
        e.blockCount += n * BLOCKS_PER_CLUSTER;
        e.pending++;
        return e.buf.slice(at, n * CLUSTER_SIZE);
    }

    /**
     * Room in the archive for whole clusters, filled in place by the caller; see {@link #tryReserve}. Not
     * thread-safe itself: one owner fills it and ends it once.
     */
    public final class Reservation {
        private final DeviceState ds;
        private final long offset;
        private final int length;
        /** Where in which extent: {@code count} slots from {@code firstSlot}, their data in {@code region}. */
        private record Part(ByteBuffer region, Extent extent, int firstSlot, int count) {
        }

        private final List<Part> parts = new ArrayList<>(2);
        private final List<ByteBuffer> views = new ArrayList<>(2);
        private boolean ended;

        private Reservation(DeviceState ds, long offset, int length) {
            this.ds = ds;
            this.offset = offset;
            this.length = length;
        }

        private void add(ByteBuffer region, Extent e, int firstSlot, int count) {
            parts.add(new Part(region, e, firstSlot, count));
            views.add(region.duplicate()); // the caller moves positions; masks are read from the region
        }

        /** The memory to fill with the device bytes from the reserved offset on, in order (position to limit). */
        public List<ByteBuffer> buffers() {
            return views;
        }

        /**
         * The bytes are in place: records which blocks hold data and lets the extent go to the output.
         *
         * @throws VmaFormatException if the writer failed meanwhile (the data is then lost with the archive)
         */
        public void commit() {
            int[][] masks = new int[parts.size()][];
            for (int p = 0; p < parts.size(); p++) {
                Part part = parts.get(p);
                masks[p] = new int[part.count()];
                for (int i = 0; i < part.count(); i++) {
                    masks[p][i] = ZeroBlocks.mask(part.region(), i * CLUSTER_SIZE, CLUSTER_SIZE);
                }
            }
            lock.lock();
            try {
                end();
                checkOpen();
                for (int p = 0; p < parts.size(); p++) {
                    Extent e = parts.get(p).extent();
                    int firstSlot = parts.get(p).firstSlot();
                    for (int i = 0; i < masks[p].length; i++) {
                        int m = masks[p][i];
                        e.dataMasks[firstSlot + i] = m;
                        e.needsCompaction |= m != FULL_MASK;
                        int stored = Integer.bitCount(m) * BLOCK_SIZE;
                        ds.clusters++;
                        ds.storedBytes += stored;
                        ds.zeroBytes += CLUSTER_SIZE - stored;
                    }
                    e.pending--;
                    if (e.sealed && e.pending == 0) {
                        finish(e);
                    }
                }
            } finally {
                lock.unlock();
            }
        }

        /**
         * The bytes will not arrive in full: the archive can then not be completed, so the writer fails (every
         * later call and {@link VmaWriter#close()} report this). Never throws; a no-op after commit.
         */
        public void abandon() {
            lock.lock();
            try {
                if (ended) {
                    return;
                }
                end();
                for (Part part : parts) {
                    part.extent().pending--;
                }
                if (failure == null) {
                    failure = new VmaFormatException("device " + ds.device.name() + ": the in-place write at offset "
                            + offset + " (" + length + " bytes) was abandoned before all its bytes arrived");
                }
            } finally {
                lock.unlock();
            }
        }

        private void end() {
            if (ended) {
                throw new IllegalStateException("reservation already ended");
            }
            ended = true;
            pendingReservations--;
        }
    }

    /**
     * The sequential stream of the {@code vmstate} device (VM RAM state); its last cluster is zero-padded when the
     * channel or the writer is closed. The same channel is returned on every call; it is not for concurrent use.
     */
    public WritableByteChannel vmstateChannel() {
        lock.lock();
        try {
            if (vmstate == null) {
                VmaDevice d = devices.stream().filter(VmaDevice::isVmstate).findFirst()
                        .orElseThrow(() -> new IllegalStateException("no vmstate device: call Builder.vmstate()"));
                vmstate = new VmstateChannel(states[d.id()]);
            }
            return vmstate;
        } finally {
            lock.unlock();
        }
    }

    /** Statistics so far; never waits (also not while writers are blocked on a slow output). */
    public VmaWriterStats stats() {
        List<VmaDeviceStats> list = new ArrayList<>();
        for (VmaDevice d : devices) {
            DeviceState s = states[d.id()];
            list.add(new VmaDeviceStats(d, s.clusters, s.storedBytes, s.zeroBytes));
        }
        return new VmaWriterStats(pump.written(), extents, list);
    }

    private static void checkRange(VmaDevice dev, long offset, long length) {
        long limit = dev.clusterCount() << CLUSTER_SHIFT;
        if (offset < 0 || length < 0 || offset > limit - length) {
            throw new VmaFormatException("device " + dev.name() + ": range [" + offset + ", +" + length
                    + ") is outside the device (size " + dev.size() + ")");
        }
    }

    private static long key(VmaDevice dev, long cluster) {
        return (long) dev.id() << 32 | cluster;
    }

    private static VmaFormatException writtenTwice(VmaDevice dev, long cluster) {
        return new VmaFormatException("device " + dev.name() + ": cluster " + cluster + " (byte offset "
                + (cluster << CLUSTER_SHIFT) + ") written twice");
    }

    private void checkOpen() {
        if (failure != null) {
            throw new VmaFormatException("the VMA writer failed earlier: " + failure.getMessage(), failure);
        }
        if (closed) {
            throw new IllegalStateException("the VMA writer is closed");
        }
    }

    /** Adds a piece of a cluster; emits the cluster once all of its in-device bytes arrived. */
    private void assemble(DeviceState ds, long cluster, int at, int len, ByteBuffer src, int srcAt, int validLen) {
        VmaDevice dev = ds.device;
        lock.lock();
        try {
            ensureExtent();
            if (ds.written.get(cluster)) {
                throw writtenTwice(dev, cluster);
            }
            long key = key(dev, cluster);
            PartialCluster p = partials.get(key);
            if (p == null) {
                if (partials.size() >= maxPartialClusters) {
                    throw new VmaFormatException("more than " + maxPartialClusters + " clusters partially written "
                            + "at once (device " + dev.name() + ", cluster " + cluster + ")");
                }
                p = new PartialCluster();
                partials.put(key, p);
            }
            if (!p.cover(at, len)) {
                throw new VmaFormatException("device " + dev.name() + ": bytes in [" + ((cluster << CLUSTER_SHIFT) + at)
                        + ", +" + len + ") written twice");
            }
            if (src != null) {
                p.data.put(at, src, srcAt, len);
            }
            if (p.complete(validLen)) {
                partials.remove(key);
                emit(ds, cluster, ZeroBlocks.mask(p.data, 0, validLen), p.data, 0, validLen);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Makes sure there is a current extent with room, taking a pool buffer if needed. Caller holds the lock; while
     * the output is slow this waits for a buffer with the lock released (so that reservations can still commit
     * and unpin theirs), which is why callers call it before changing any state.
     */
    private void ensureExtent() {
        checkOpen();
        while (current == null) {
            ByteBuffer b = poll();
            if (b == null) {
                lock.unlock();
                try {
                    b = pump.take();
                } catch (RuntimeException e) {
                    lock.lock();
                    throw failed(e);
                }
                lock.lock();
                if (current != null || failure != null || closed) {
                    pump.recycle(b);
                    checkOpen();
                    continue;
                }
            }
            current = new Extent(b);
        }
    }

    /** A free pool buffer or null; an output failure becomes the writer's failure. Lock held. */
    private ByteBuffer poll() {
        try {
            return pump.poll();
        } catch (RuntimeException e) {
            throw failed(e);
        }
    }

    /** Records the first failure (later calls report it) and returns {@code e} to throw. Lock held. */
    private RuntimeException failed(RuntimeException e) {
        if (failure == null) {
            failure = e;
        }
        return e;
    }

    /**
     * Puts one cluster into the current extent; caller holds the lock and called {@link #ensureExtent()} in the
     * same hold. {@code src} may be null iff mask is 0.
     */
    private void emit(DeviceState ds, long cluster, int mask, ByteBuffer src, int srcAt, int validLen) {
        if (!ds.device.isVmstate() && !ds.written.testAndSet(cluster)) {
            throw writtenTwice(ds.device, cluster);
        }
        Extent e = current;
        ByteBuffer extent = e.buf;
        int at = EXTENT_HEADER_SIZE + e.blockCount * BLOCK_SIZE;
        int stored = 0;
        for (int m = mask; m != 0; m &= m - 1) {
            int j = Integer.numberOfTrailingZeros(m);
            int from = j * BLOCK_SIZE;
            int len = Math.min(BLOCK_SIZE, validLen - from);
            extent.put(at, src, srcAt + from, len);
            if (len < BLOCK_SIZE) {
                ZeroBlocks.clear(extent, at + len, BLOCK_SIZE - len);
            }
            at += BLOCK_SIZE;
            stored++;
        }
        e.dataMasks[e.slotCount] = mask;
        e.slots[e.slotCount++] = ExtentHeaderCodec.slot(mask, ds.device.id(), cluster);
        e.blockCount += stored;
        ds.clusters++;
        ds.storedBytes += (long) stored * BLOCK_SIZE;
        ds.zeroBytes += validLen - Math.min(validLen, stored * BLOCK_SIZE);
        if (e.slotCount >= clustersPerExtent) {
            seal(e);
        }
    }

    /** No more clusters go into {@code e}; it goes to the output once no reservation in it is pending. */
    private void seal(Extent e) {
        if (current == e) {
            current = null;
        }
        e.sealed = true;
        if (e.pending == 0) {
            finish(e);
        }
    }

    /** Squeezes out zero blocks of in-place clusters, encodes the header and hands the extent to the output. */
    private void finish(Extent e) {
        try {
            if (e.needsCompaction) {
                compact(e);
            }
            extentCodec.encode(e.buf, e.slots, e.slotCount, e.blockCount);
            e.buf.position(0).limit(EXTENT_HEADER_SIZE + e.blockCount * BLOCK_SIZE);
            pump.submit(e.buf, true);
            extents++;
        } catch (RuntimeException ex) {
            throw failed(ex);
        }
    }

    /**
     * In-place clusters were stored with all 16 blocks; drops the blocks that turned out to be zero by moving the
     * later blocks down (whole blocks, always to a lower index, so source and target never overlap).
     */
    private static void compact(Extent e) {
        int read = 0;
        int write = 0;
        for (int s = 0; s < e.slotCount; s++) {
            int stored = ExtentHeaderCodec.mask(e.slots[s]);
            int data = e.dataMasks[s];
            for (int m = stored; m != 0; m &= m - 1) {
                if ((data & Integer.lowestOneBit(m)) != 0) {
                    if (read != write) {
                        e.buf.put(EXTENT_HEADER_SIZE + write * BLOCK_SIZE, e.buf, EXTENT_HEADER_SIZE + read * BLOCK_SIZE,
                                BLOCK_SIZE);
                    }
                    write++;
                }
                read++;
            }
            if (stored != data) {
                e.slots[s] = ExtentHeaderCodec.slot(data, ExtentHeaderCodec.devId(e.slots[s]),
                        ExtentHeaderCodec.cluster(e.slots[s]));
            }
        }
        e.blockCount = write;
    }

    /**
     * Flushes everything and finishes the archive; for a path, renames it to its final name.
     *
     * @throws VmaFormatException naming the device and first missing cluster if some disk cluster was not written;
     *     the archive is then deleted
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            try {
                checkOpen(); // an earlier output failure is the error to report, not the missing clusters
                if (pendingReservations > 0) {
                    throw new VmaFormatException(pendingReservations + " in-place cluster writes were never committed");
                }
                if (vmstate != null) {
                    vmstate.finish();
                }
                checkComplete();
                if (extents == 0 || (current != null && current.slotCount > 0)) {
                    ensureExtent();
                    seal(current); // a config-only archive still gets one (empty) extent
                }
                closed = true;
                pump.finish();
                if (finalFile != null) {
                    if (Files.exists(finalFile)) {
                        throw new FileAlreadyExistsException(finalFile.toString(), null, "archive already exists");
                    }
                    Files.move(tempFile, finalFile, StandardCopyOption.ATOMIC_MOVE);
                }
            } catch (IOException e) {
                abortLocked();
                throw new UncheckedIOException("finishing " + (finalFile == null ? "the archive" : finalFile) + ": "
                        + e.getMessage(), e);
            } catch (RuntimeException e) {
                abortLocked();
                throw e;
            }
        } finally {
            lock.unlock();
        }
    }

    private void checkComplete() {
        for (Map.Entry<Long, PartialCluster> e : partials.entrySet()) {
            VmaDevice d = devices.get((int) (e.getKey() >>> 32) - 1);
            long cluster = e.getKey() & 0xFFFF_FFFFL;
            throw new VmaFormatException("device " + d.name() + ": cluster " + cluster + " incomplete (byte "
                    + ((cluster << CLUSTER_SHIFT) + e.getValue().firstMissing()) + " not written)");
        }
        for (VmaDevice d : devices) {
            if (d.isVmstate()) {
                continue;
            }
            long missing = states[d.id()].written.firstClear(d.clusterCount());
            if (missing >= 0) {
                throw new VmaFormatException("device " + d.name() + " (dev_id " + d.id() + "): cluster " + missing
                        + " (byte offset " + (missing << CLUSTER_SHIFT) + ") was not written");
            }
        }
    }

    /** Discards the archive: stops the output and deletes the temporary file (if writing to a path). */
    public void abort() {
        lock.lock();
        try {
            abortLocked();
        } finally {
            lock.unlock();
        }
    }

    private void abortLocked() {
        boolean wasClosed = closed;
        closed = true;
        if (!wasClosed || tempFile != null) {
            pump.cancel();
        }
        if (tempFile != null) {
            try {
                Files.deleteIfExists(tempFile);
            } catch (IOException e) {
                // best effort: the caller sees the original failure
            }
        }
    }

    /** The sequential vmstate stream: fills one cluster at a time, emitting clusters 0, 1, 2, ... */
    private final class VmstateChannel implements WritableByteChannel {
        private final DeviceState ds;
        private final ByteBuffer buf = ByteBuffer.allocate(CLUSTER_SIZE);
        private long next;
        private boolean open = true;

        VmstateChannel(DeviceState ds) {
            this.ds = ds;
        }

        @Override
        public int write(ByteBuffer src) {
            if (!open) {
                throw new IllegalStateException("vmstate channel closed");
            }
            int n = src.remaining();
            while (src.hasRemaining()) {
                if (buf.position() == 0 && src.remaining() >= CLUSTER_SIZE) {
                    // whole clusters go straight from the caller's buffer into the extent: one copy less
                    emitCluster(src, src.position());
                    src.position(src.position() + CLUSTER_SIZE);
                    continue;
                }
                int k = Math.min(buf.remaining(), src.remaining());
                buf.put(buf.position(), src, src.position(), k);
                buf.position(buf.position() + k);
                src.position(src.position() + k);
                if (!buf.hasRemaining()) {
                    emitBuffer();
                }
            }
            return n;
        }

        private void emitBuffer() {
            emitCluster(buf, 0);
            buf.clear();
        }

        private void emitCluster(ByteBuffer src, int at) {
            int mask = ZeroBlocks.mask(src, at, CLUSTER_SIZE);
            lock.lock();
            try {
                ensureExtent();
                emit(ds, next++, mask, src, at, CLUSTER_SIZE);
            } finally {
                lock.unlock();
            }
        }

        void finish() {
            if (open && buf.position() > 0) {
                ZeroBlocks.clear(buf, buf.position(), buf.remaining());
                emitBuffer();
            }
            open = false;
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            finish();
        }
    }

    /** Metadata and options of an archive to write. */
    public static final class Builder {
        private UUID uuid = UUID.randomUUID();
        private Instant ctime = Instant.now();
        private final List<VmaConfig> configs = new ArrayList<>();
        private final List<String> deviceNames = new ArrayList<>();
        private final List<Long> deviceSizes = new ArrayList<>();
        private int clustersPerExtent = DEFAULT_CLUSTERS_PER_EXTENT;
        private int bufferedExtents = 4;
        private int maxPartialClusters = 256;
        private int compressionLevel = 3;
        private int compressionWorkers = Math.max(1, Runtime.getRuntime().availableProcessors());
        private boolean sync;
        private boolean directIo;

        private Builder() {
        }

        /** The archive uuid (default random). */
        public Builder uuid(UUID uuid) {
            this.uuid = Objects.requireNonNull(uuid);
            return this;
        }

        /** The creation time stored in the header (default now; seconds resolution). */
        public Builder ctime(Instant ctime) {
            this.ctime = Objects.requireNonNull(ctime);
            return this;
        }

        /** Adds a configuration blob (at most 256, each at most 65535 bytes). */
        public Builder config(String name, byte[] data) {
            configs.add(new VmaConfig(name, data));
            return this;
        }

        /** Adds a disk of this exact size in bytes; dev_ids are 1, 2, ... in the order of disk/vmstate calls. */
        public Builder disk(String name, long sizeBytes) {
            if (VMSTATE_NAME.equals(name)) {
                throw new IllegalArgumentException("the name vmstate is reserved: use vmstate()");
            }
            return addDevice(name, sizeBytes);
        }

        /** Adds the {@code vmstate} device (VM RAM state) with an estimated size (informational only). */
        public Builder vmstate(long estimatedSize) {
            return addDevice(VMSTATE_NAME, Math.max(1, estimatedSize));
        }

        private Builder addDevice(String name, long size) {
            if (deviceNames.contains(name)) {
                throw new IllegalArgumentException("duplicate device name " + name);
            }
            if (size <= 0 || ((size - 1) >>> CLUSTER_SHIFT) >= MAX_CLUSTERS) {
                throw new IllegalArgumentException("device " + name + ": size out of range: " + size);
            }
            if (deviceNames.size() >= MAX_DEVICES) {
                throw new IllegalArgumentException("at most " + MAX_DEVICES + " devices");
            }
            deviceNames.add(name);
            deviceSizes.add(size);
            return this;
        }

        /** Clusters per extent, 1..59 (default 58, like the reference writer). */
        public Builder clustersPerExtent(int n) {
            if (n < 1 || n > SLOTS_PER_EXTENT) {
                throw new IllegalArgumentException("clustersPerExtent must be 1..59: " + n);
            }
            this.clustersPerExtent = n;
            return this;
        }

        /** Extent buffers in the output pool (default 4, at least 2): more absorbs burstier output. */
        public Builder bufferedExtents(int n) {
            this.bufferedExtents = Math.max(2, n);
            return this;
        }

        /** At most this many clusters may be partially written at once (default 256, about 72 KiB each). */
        public Builder maxPartialClusters(int n) {
            this.maxPartialClusters = Math.max(1, n);
            return this;
        }

        /** zstd level (default 3) and worker threads (default: available processors) for compressed output. */
        public Builder compression(int level, int workers) {
            this.compressionLevel = level;
            this.compressionWorkers = Math.max(0, workers);
            return this;
        }

        /**
         * Whether {@link VmaWriter#close()} forces the archive file to stable storage before renaming it (default
         * false: the data goes through the page cache and the rename may reach the disk first after a crash).
         */
        public Builder sync(boolean sync) {
            this.sync = sync;
            return this;
        }

        /**
         * Whether an uncompressed archive opened on a path is written with O_DIRECT, bypassing the page cache
         * (default false). Worth it for large archives: no copy into new cache pages, no cache evicted, no
         * gigabytes of dirty data left for writeback. Falls back to the page cache, silently, on file systems
         * without O_DIRECT (tmpfs).
         */
        public Builder directIo(boolean directIo) {
            this.directIo = directIo;
            return this;
        }

        /**
         * Creates the archive at this path (which must not exist), written as {@code <name>.part} and renamed on a
         * successful close. Compression by file name: {@code .zst} zstd, {@code .gz} gzip, else none.
         */
        public VmaWriter open(Path archive) throws IOException {
            Path abs = archive.toAbsolutePath();
            if (Files.exists(abs)) {
                throw new FileAlreadyExistsException(abs.toString(), null, "archive already exists");
            }
            Path temp = abs.resolveSibling(abs.getFileName() + ".part");
            FileChannel ch;
            try {
                ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                throw new FileAlreadyExistsException(temp.toString(), null,
                        "temporary file exists (left over from an interrupted run? remove it)");
            }
            try {
                VmaCompression compression = VmaCompression.forFileName(abs);
                WritableByteChannel data = ch;
                if (directIo && compression == VmaCompression.NONE) {
                    try {
                        data = DirectFileOutput.open(temp);
                    } catch (IOException | UnsupportedOperationException e) {
                        log.debug("{}: no O_DIRECT here ({}), writing through the page cache", temp, e.toString());
                    }
                }
                WritableByteChannel body = data;
                WritableByteChannel file = new WritableByteChannel() {
                    @Override
                    public int write(ByteBuffer src) throws IOException {
                        return body.write(src);
                    }

                    @Override
                    public boolean isOpen() {
                        return ch.isOpen();
                    }

                    @Override
                    public void close() throws IOException {
                        try (ch) {
                            if (body != ch) {
                                body.close();
                            }
                            if (sync) {
                                ch.force(true); // after the compressor's last frame, before the rename
                            }
                        }
                    }
                };
                WritableByteChannel out = compression.compress(file, compressionLevel, compressionWorkers);
                return new VmaWriter(this, out, temp, abs);
            } catch (IOException | RuntimeException e) {
                ch.close();
                Files.deleteIfExists(temp);
                throw e;
            }
        }

        /** Writes an uncompressed archive to a channel; the channel is not closed by the writer. */
        public VmaWriter open(WritableByteChannel out) throws IOException {
            return open(out, VmaCompression.NONE);
        }

        /** Writes an archive with this compression to a channel; the channel is not closed by the writer. */
        public VmaWriter open(WritableByteChannel out, VmaCompression compression) throws IOException {
            WritableByteChannel keepOpen = new WritableByteChannel() {
                @Override
                public int write(ByteBuffer src) throws IOException {
                    return out.write(src);
                }

                @Override
                public boolean isOpen() {
                    return out.isOpen();
                }

                @Override
                public void close() {
                    // the caller owns the channel
                }
            };
            return new VmaWriter(this, compression.compress(keepOpen, compressionLevel, compressionWorkers), null,
                    null);
        }
    }
}
