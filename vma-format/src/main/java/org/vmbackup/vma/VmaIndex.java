package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Random access into a seekable, uncompressed archive. {@link #open} scans the extent headers once (skipping the
 * payload, with all of the reader's checks including completeness) and remembers, per cluster, the file position of
 * its first stored block and its mask; reads are then positional and thread-safe. Memory: 6 bytes per cluster
 * present (about 96 MiB per TiB of devices), bounded by a budget.
 */
public final class VmaIndex implements AutoCloseable {
    /** Default memory budget for the cluster table. */
    public static final long DEFAULT_MAX_MEMORY = 512L << 20;
    private static final int CHUNK = 4096;
    private static final int CHUNK_SHIFT = 12;
    private static final int NONE = -1;
    /** Bytes of consecutive bare extent headers read at once while scanning (128 headers). */
    private static final int HEADER_WINDOW = 64 << 10;

    private final FileChannel file;
    private final VmaHeader header;
    private final Map<Integer, Map<Integer, Chunk>> tables = new HashMap<>();
    private final VmaDevice[] byId = new VmaDevice[256];
    /** Per dev_id, the bytes stored: the exact size for a disk, whole clusters for the vmstate stream. */
    private final long[] storedLength = new long[256];

    /** 4096 clusters: (file position - header size) / 512 as unsigned int (-1 = absent), and masks. */
    private static final class Chunk {
        final int[] position = new int[CHUNK];
        final char[] mask = new char[CHUNK];

        Chunk() {
            Arrays.fill(position, NONE);
        }
    }

    private VmaIndex(FileChannel file, long maxMemory) throws IOException {
        this.file = file;
        long size = file.size();
        ByteBuffer magic = ByteBuffer.allocate(4);
        file.read(magic, 0);
        if (VmaCompression.detect(magic.flip()) != VmaCompression.NONE) {
            throw new VmaFormatException("offset 0: the index needs an uncompressed archive ("
                    + VmaCompression.detect(magic) + " found); decompress it first");
        }
        ChannelInput in = new ChannelInput(new PositionalChannel(file));
        this.header = HeaderCodec.read(in);
        for (VmaDevice d : header.devices()) {
            byId[d.id()] = d;
            storedLength[d.id()] = d.isVmstate() ? 0 : d.size();
            tables.put(d.id(), new HashMap<>());
        }
        ExtentHeaderCodec codec = new ExtentHeaderCodec(header.uuid());
        ClusterTracker tracker = new ClusterTracker(header, ClusterTracker.DEFAULT_BUDGET);
        // Extents without stored blocks (all-zero stretches of a disk) are bare headers lying back to back: after one,
        // read a window of headers at once; after an extent with data, read just its successor's header.
        ByteBuffer window = ByteBuffer.allocate(HEADER_WINDOW);
        long winStart = 0;
        int winLen = 0;
        boolean adjacent = false;
        long[] slots = new long[SLOTS_PER_EXTENT];
        long pos = header.headerSize();
        long used = 0;
        int lastDev = 0; // the chunk filled last: clusters of a device mostly come in order
        int lastKey = 0;
        Chunk lastChunk = null;
        while (pos < size) {
            if (pos < winStart || pos + EXTENT_HEADER_SIZE > winStart + winLen) {
                window.clear().limit((int) Math.min(adjacent ? HEADER_WINDOW : EXTENT_HEADER_SIZE, size - pos));
                int n = readFully(window, pos);
                if (n < EXTENT_HEADER_SIZE) {
                    throw new VmaFormatException("offset " + pos + ": archive truncated inside an extent header ("
                            + n + " of 512 bytes)");
                }
                winStart = pos;
                winLen = n;
            }
            ByteBuffer head = window.slice((int) (pos - winStart), EXTENT_HEADER_SIZE);
            int blocks = codec.decode(head, pos, slots);
            adjacent = blocks == 0;
            long end = pos + EXTENT_HEADER_SIZE + (long) blocks * BLOCK_SIZE;
            if (end > size) {
                throw new VmaFormatException("offset " + size + ": archive truncated inside the extent at offset " + pos);
            }
            long data = pos + EXTENT_HEADER_SIZE;
            for (int i = 0; i < SLOTS_PER_EXTENT; i++) {
                if (ExtentHeaderCodec.devId(slots[i]) == 0) {
                    continue;
                }
                VmaDevice d = tracker.accept(slots[i], pos + EXT_OFF_SLOTS + 8L * i);
                long cluster = ExtentHeaderCodec.cluster(slots[i]);
                if (d.isVmstate()) {
                    storedLength[d.id()] = Math.max(storedLength[d.id()], (cluster + 1) << CLUSTER_SHIFT);
                }
                long rel = (data - header.headerSize()) / 512;
                if (rel >= 0xFFFF_FFFFL) {
                    throw new VmaFormatException("offset " + pos + ": archive too large for the index (over 2 TiB)");
                }
                int key = (int) (cluster >>> CHUNK_SHIFT);
                Map<Integer, Chunk> table = tables.get(d.id());
                Chunk c = d.id() == lastDev && key == lastKey ? lastChunk : table.get(key);
                if (c == null) {
                    used += CHUNK * 6L + 64;
                    if (used > maxMemory) {
                        throw new VmaFormatException("offset " + pos + ": index exceeds its memory budget of "
                                + maxMemory + " bytes");
                    }
                    c = new Chunk();
                    table.put(key, c);
                }
                lastDev = d.id();
                lastKey = key;
                lastChunk = c;
                int k = (int) (cluster & (CHUNK - 1));
                c.position[k] = (int) rel;
                c.mask[k] = (char) ExtentHeaderCodec.mask(slots[i]);
                data += (long) Integer.bitCount(ExtentHeaderCodec.mask(slots[i])) * BLOCK_SIZE;
            }
            pos = end;
        }
        tracker.checkComplete(pos);
    }

    /** Scans an uncompressed archive file and builds the index (default memory budget). */
    public static VmaIndex open(Path archive) throws IOException {
        return open(archive, DEFAULT_MAX_MEMORY);
    }

    /** Scans an uncompressed archive file and builds the index, failing if the table would exceed maxMemory. */
    public static VmaIndex open(Path archive, long maxMemory) throws IOException {
        FileChannel ch = FileChannel.open(archive, StandardOpenOption.READ);
        try {
            return new VmaIndex(ch, maxMemory);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The archive header. */
    public VmaHeader header() {
        return header;
    }

    /** The devices in dev_id order. */
    public List<VmaDevice> devices() {
        return header.devices();
    }

    private VmaDevice device(int devId) {
        VmaDevice d = devId > 0 && devId < 256 ? byId[devId] : null;
        if (d == null) {
            throw new IllegalArgumentException("no device with dev_id " + devId);
        }
        return d;
    }

    /**
     * The bytes a read of {@code dev} can return: its exact size for a disk; for the {@code vmstate} stream, whose
     * header size is only an estimate, the clusters stored (the tail is zero padding QEMU ignores).
     */
    public long storedLength(VmaDevice dev) {
        return storedLength[device(dev.id()).id()];
    }

    /**
     * Reads device bytes {@code [offset, offset + dst.remaining())} (clipped at {@link #storedLength}) into dst;
     * zero blocks come out as zeros. Thread-safe.
     *
     * @return the number of bytes read (less than asked only at the device end)
     */
    public int read(VmaDevice dev, long offset, ByteBuffer dst) {
        return read(dev.id(), offset, dst);
    }

    /** As {@link #read(VmaDevice, long, ByteBuffer)}, by dev_id. */
    public int read(int devId, long offset, ByteBuffer dst) {
        VmaDevice d = device(devId);
        long end = storedLength[devId];
        if (offset < 0 || offset > end) {
            throw new IllegalArgumentException("offset " + offset + " outside device " + d.name());
        }
        int total = (int) Math.min(dst.remaining(), end - offset);
        Map<Integer, Chunk> table = tables.get(devId);
        IndexSpanReader span = new IndexSpanReader(file, dst, dst.position());
        int done = 0;
        while (done < total) {
            long off = offset + done;
            long cluster = off >>> CLUSTER_SHIFT;
            int block = (int) ((off >>> 12) & 15);
            int inBlock = (int) (off & (BLOCK_SIZE - 1));
            Chunk c = table.get((int) (cluster >>> CHUNK_SHIFT));
            int k = (int) (cluster & (CHUNK - 1));
            int mask = c == null || c.position[k] == NONE ? 0 : c.mask[k];
            // the run of blocks with the same status starting at this block, within this cluster
            boolean stored = (mask & 1 << block) != 0;
            int endBlock = block + 1;
            while (endBlock < 16 && ((mask & 1 << endBlock) != 0) == stored) {
                endBlock++;
            }
            int len = (int) Math.min(total - done, (long) (endBlock - block) * BLOCK_SIZE - inBlock);
            if (stored) {
                int rank = Integer.bitCount(mask & ((1 << block) - 1));
                span.stored(done, len, header.headerSize() + Integer.toUnsignedLong(c.position[k]) * 512
                        + (long) rank * BLOCK_SIZE + inBlock);
            } else {
                span.zero(done, len);
            }
            done += len;
        }
        span.flush();
        dst.position(dst.position() + total);
        return total;
    }

    /**
     * The allocation status of the run of bytes starting at {@code offset}, at most {@code maxLength} long: either
     * stored data or a hole (zeros). For NBD block status.
     */
    public VmaBlockStatus blockStatus(VmaDevice dev, long offset, long maxLength) {
        VmaDevice d = device(dev.id());
        if (offset < 0 || maxLength <= 0 || offset >= d.size()) {
            throw new IllegalArgumentException("range [" + offset + ", +" + maxLength + ") outside device " + d.name());
        }
        long limit = maxLength >= d.size() - offset ? d.size() : offset + maxLength;
        if (offset >= limit) {
            throw new IllegalArgumentException("range [" + offset + ", +" + maxLength + ") outside device " + d.name());
        }
        Map<Integer, Chunk> table = tables.get(dev.id());
        boolean zero = !stored(table, offset >>> 12);
        int same = zero ? 0 : 0xFFFF; // the mask of a whole cluster with this status
        long blockIdx = (offset >>> 12) + 1;
        while ((blockIdx << 12) < limit) {
            if ((blockIdx & 15) == 0) { // at a cluster start: step over whole clusters (or absent chunks) at once
                long cluster = blockIdx >>> 4;
                Chunk c = table.get((int) (cluster >>> CHUNK_SHIFT));
                if (c == null && zero && (cluster & (CHUNK - 1)) == 0) {
                    blockIdx += (long) CHUNK << 4;
                    continue;
                }
                int k = (int) (cluster & (CHUNK - 1));
                if ((c == null || c.position[k] == NONE ? 0 : c.mask[k]) == same) {
                    blockIdx += 16;
                    continue;
                }
            }
            if (stored(table, blockIdx) == zero) {
                break;
            }
            blockIdx++;
        }
        return new VmaBlockStatus(offset, Math.min(limit, blockIdx << 12) - offset, zero);
    }

    /** Whether all of {@code [offset, offset + length)} is zero (no block stored). */
    public boolean isZero(VmaDevice dev, long offset, long length) {
        VmaBlockStatus s = blockStatus(dev, offset, length);
        return s.zero() && s.length() >= Math.min(length, dev.size() - offset);
    }

    private static boolean stored(Map<Integer, Chunk> table, long block) {
        long cluster = block >>> 4;
        Chunk c = table.get((int) (cluster >>> CHUNK_SHIFT));
        int k = (int) (cluster & (CHUNK - 1));
        return c != null && c.position[k] != NONE && (c.mask[k] & 1 << (block & 15)) != 0;
    }

    private int readFully(ByteBuffer dst, long at) {
        return IndexSpanReader.readFully(file, dst, at);
    }

    /** Closes the archive file. */
    @Override
    public void close() throws IOException {
        file.close();
    }

    /** Sequential reads from the start of a file channel by position, leaving the channel's own position alone. */
    private static final class PositionalChannel implements ReadableByteChannel {
        private final FileChannel file;
        private long pos;

        PositionalChannel(FileChannel file) {
            this.file = file;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            int n = file.read(dst, pos);
            if (n > 0) {
                pos += n;
            }
            return n;
        }

        @Override
        public boolean isOpen() {
            return file.isOpen();
        }

        @Override
        public void close() {
            // the index owns the file
        }
    }
}
