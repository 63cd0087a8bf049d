package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * A streaming VMA encoder. Clusters may arrive in any order, in pieces of any size and alignment, from several
 * threads at once; they are packed into extents (58 clusters each by default) and written by a background thread.
 * Memory is bounded: a small pool of extent buffers (writers block when the output is slow) plus the clusters
 * still being assembled from pieces.
 *
 * <p>{@link #close()} checks that every cluster of every disk was written exactly once; only then does an archive
 * opened on a path appear under its final name (it is written to {@code <name>.part} first).
 *
 * <p>The work is split (package-private classes): {@code ClusterAssembler} cuts writes into clusters,
 * {@code ExtentPacker} packs them into extents for the {@code OutputPump}, {@code InPlaceReservation} lends extent
 * memory for in-place writes, {@code VmstateChannel} streams the VM state, and {@code ArchiveFile} is the file policy
 * (temporary name, O_DIRECT, compression, fsync, rename). This class checks arguments and ties them together.
 */
public final class VmaWriter implements AutoCloseable {
    private final VmaHeader header;
    private final List<VmaDevice> devices;
    private final WriterDevice[] states;
    private final ExtentPacker packer;
    private final ClusterAssembler assembler;
    /** The file written to, or null when writing to a caller's channel. */
    private final ArchiveFile file;
    private VmstateChannel vmstate;

    private VmaWriter(Builder b, WritableByteChannel out, ArchiveFile file) {
        List<VmaDevice> devs = new ArrayList<>();
        for (int i = 0; i < b.deviceNames.size(); i++) {
            devs.add(new VmaDevice(i + 1, b.deviceNames.get(i), b.deviceSizes.get(i)));
        }
        this.devices = List.copyOf(devs);
        this.header = new VmaHeader(b.uuid, Instant.ofEpochSecond(b.ctime.getEpochSecond()), b.configs, devices, 0);
        this.states = new WriterDevice[devices.size() + 1];
        for (VmaDevice d : devices) {
            states[d.id()] = new WriterDevice(d);
        }
        this.file = file;
        ByteBuffer head = HeaderCodec.encode(b.uuid, header.ctime(), b.configs, devices);
        this.packer = new ExtentPacker(new OutputPump(out, b.bufferedExtents, MAX_EXTENT_SIZE),
                new ExtentHeaderCodec(b.uuid), b.clustersPerExtent, head);
        this.assembler = new ClusterAssembler(packer, b.maxPartialClusters);
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

    private WriterDevice state(VmaDevice dev) {
        Objects.requireNonNull(dev, "dev");
        if (dev.id() >= states.length || !states[dev.id()].device.equals(dev)) {
            throw new IllegalArgumentException("device " + dev + " does not belong to this writer");
        }
        return states[dev.id()];
    }

    /** The disk {@code dev} after checking {@code [offset, +length)} lies in it. */
    private WriterDevice disk(VmaDevice dev, long offset, long length) {
        WriterDevice ds = state(dev);
        if (dev.isVmstate()) {
            throw new IllegalArgumentException("write the vmstate device through vmstateChannel()");
        }
        long limit = dev.clusterCount() << CLUSTER_SHIFT;
        if (offset < 0 || length < 0 || offset > limit - length) {
            throw new VmaFormatException("device " + dev.name() + ": range [" + offset + ", +" + length
                    + ") is outside the device (size " + dev.size() + ")");
        }
        return ds;
    }

    /**
     * Stores device bytes {@code [offset, offset + data.remaining())}. Thread-safe; any order, size and alignment.
     * The data is consumed (copied) before this returns. May block while the output catches up. Bytes past the
     * device end but inside its last cluster are ignored.
     *
     * @throws VmaFormatException if a byte of the range was already written, or the range is outside the device
     */
    public void write(VmaDevice dev, long offset, ByteBuffer data) {
        assembler.store(disk(dev, offset, data.remaining()), offset, data.remaining(), data);
        data.position(data.limit());
    }

    /**
     * Declares device bytes {@code [offset, offset + length)} as zeros: nothing is read or stored. Thread-safe.
     *
     * @throws VmaFormatException if a byte of the range was already written, or the range is outside the device
     */
    public void writeZeroes(VmaDevice dev, long offset, long length) {
        assembler.store(disk(dev, offset, length), offset, length, null);
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
        InPlaceReservation r = InPlaceReservation.tryReserve(packer, assembler, state(dev), offset, length);
        return r == null ? null : new Reservation(r);
    }

    /**
     * Room in the archive for whole clusters, filled in place by the caller; see {@link #tryReserve}. Not
     * thread-safe itself: one owner fills it and ends it once.
     */
    public static final class Reservation {
        private final InPlaceReservation reservation;

        private Reservation(InPlaceReservation reservation) {
            this.reservation = reservation;
        }

        /** The memory to fill with the device bytes from the reserved offset on, in order (position to limit). */
        public List<ByteBuffer> buffers() {
            return reservation.buffers();
        }

        /**
         * The bytes are in place: records which blocks hold data and lets the extent go to the output.
         *
         * @throws VmaFormatException if the writer failed meanwhile (the data is then lost with the archive)
         */
        public void commit() {
            reservation.commit();
        }

        /**
         * The bytes will not arrive in full: the archive can then not be completed, so the writer fails (every
         * later call and {@link VmaWriter#close()} report this). Never throws; a no-op after commit.
         */
        public void abandon() {
            reservation.abandon();
        }
    }

    /**
     * The sequential stream of the {@code vmstate} device (VM RAM state); its last cluster is zero-padded when the
     * channel or the writer is closed. The same channel is returned on every call; it is not for concurrent use.
     */
    public WritableByteChannel vmstateChannel() {
        packer.lock.lock();
        try {
            if (vmstate == null) {
                VmaDevice d = devices.stream().filter(VmaDevice::isVmstate).findFirst()
                        .orElseThrow(() -> new IllegalStateException("no vmstate device: call Builder.vmstate()"));
                vmstate = new VmstateChannel(packer, states[d.id()]);
            }
            return vmstate;
        } finally {
            packer.lock.unlock();
        }
    }

    /** Statistics so far; never waits (also not while writers are blocked on a slow output). */
    public VmaWriterStats stats() {
        List<VmaDeviceStats> list = new ArrayList<>();
        for (VmaDevice d : devices) {
            WriterDevice s = states[d.id()];
            list.add(new VmaDeviceStats(d, s.clusters, s.storedBytes, s.zeroBytes));
        }
        return new VmaWriterStats(packer.written(), packer.extents(), list);
    }

    /**
     * Flushes everything and finishes the archive; for a path, renames it to its final name.
     *
     * @throws VmaFormatException naming the device and first missing cluster if some disk cluster was not written;
     *     the archive is then deleted
     */
    @Override
    public void close() {
        packer.lock.lock();
        try {
            if (packer.closed) {
                return;
            }
            try {
                packer.checkOpen(); // an earlier output failure is the error to report, not the missing clusters
                if (packer.pendingReservations > 0) {
                    throw new VmaFormatException(packer.pendingReservations
                            + " in-place cluster writes were never committed");
                }
                if (vmstate != null) {
                    vmstate.finish();
                }
                checkComplete();
                packer.finishArchive();
                if (file != null) {
                    file.commit();
                }
            } catch (IOException e) {
                abortLocked();
                throw new UncheckedIOException("finishing " + (file == null ? "the archive" : file.finalPath()) + ": "
                        + e.getMessage(), e);
            } catch (RuntimeException e) {
                abortLocked();
                throw e;
            }
        } finally {
            packer.lock.unlock();
        }
    }

    private void checkComplete() {
        assembler.checkNoneIncomplete(states);
        for (VmaDevice d : devices) {
            states[d.id()].checkComplete();
        }
    }

    /** Discards the archive: stops the output and deletes the temporary file (if writing to a path). */
    public void abort() {
        packer.lock.lock();
        try {
            abortLocked();
        } finally {
            packer.lock.unlock();
        }
    }

    private void abortLocked() {
        boolean wasClosed = packer.closed;
        packer.closed = true;
        if (!wasClosed || file != null) {
            packer.cancel();
        }
        if (file != null) {
            file.discard();
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
            ArchiveFile file = ArchiveFile.create(abs, ArchiveFile.partName(abs), "archive");
            try {
                return new VmaWriter(this, file.output(directIo, sync, compressionLevel, compressionWorkers), file);
            } catch (IOException | RuntimeException e) {
                file.discard();
                throw e;
            }
        }

        /** Writes an uncompressed archive to a channel; the channel is not closed by the writer. */
        public VmaWriter open(WritableByteChannel out) throws IOException {
            return open(out, VmaCompression.NONE);
        }

        /** Writes an archive with this compression to a channel; the channel is not closed by the writer. */
        public VmaWriter open(WritableByteChannel out, VmaCompression compression) throws IOException {
            return new VmaWriter(this, compression.compress(StreamChannels.keepOpen(out), compressionLevel,
                    compressionWorkers), null);
        }
    }
}
