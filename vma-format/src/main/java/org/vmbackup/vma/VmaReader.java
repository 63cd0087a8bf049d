package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A strictly sequential VMA decoder: works on pipes and stdin, decompresses zstd/gzip recognised by magic, and
 * checks everything the reference reader checks plus completeness at EOF. Memory is bounded (one extent buffer and
 * a bounded cluster-tracking bitmap) whatever the input. Not thread-safe.
 *
 * <pre>{@code
 * try (VmaReader r = VmaReader.open(path)) {
 *     VmaHeader h = r.header();
 *     r.readAll((dev, cluster, mask, blocks) -> ...);
 * }
 * }</pre>
 */
public final class VmaReader implements AutoCloseable {
    private final ChannelInput in;
    private final VmaHeader header;
    private final ExtentHeaderCodec extentCodec;
    private final ClusterTracker tracker;
    /** Grows on demand up to one maximal extent (3.7 MiB), so small archives stay small. */
    private ByteBuffer extent = ByteBuffer.allocateDirect(EXTENT_HEADER_SIZE + 16 * BLOCK_SIZE);
    private final long[] slots = new long[SLOTS_PER_EXTENT];
    private final VmaDevice[] slotDevices = new VmaDevice[SLOTS_PER_EXTENT];
    private boolean finished;
    private long extents;

    private VmaReader(ReadableByteChannel channel) {
        this.in = new ChannelInput(channel);
        try {
            this.header = HeaderCodec.read(in);
        } catch (RuntimeException e) {
            in.close();
            throw e;
        }
        this.extentCodec = new ExtentHeaderCodec(header.uuid());
        this.tracker = new ClusterTracker(header, ClusterTracker.DEFAULT_BUDGET);
    }

    /** Opens an archive file (raw, zstd or gzip) and reads its header. */
    public static VmaReader open(Path archive) throws IOException {
        return open(FileChannel.open(archive, StandardOpenOption.READ));
    }

    /** Reads an archive from a stream (raw, zstd or gzip), e.g. stdin; closing the reader closes the stream. */
    public static VmaReader open(InputStream in) throws IOException {
        return open(StreamChannels.reading(in));
    }

    /** Reads an archive from a blocking channel (raw, zstd or gzip); closing the reader closes the channel. */
    public static VmaReader open(ReadableByteChannel channel) throws IOException {
        ReadableByteChannel data;
        try {
            data = VmaCompression.autoDetect(channel);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        try {
            return new VmaReader(data);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** The checked header. */
    public VmaHeader header() {
        return header;
    }

    /** The number of (decompressed) archive bytes consumed so far. */
    public long position() {
        return in.position();
    }

    /** The number of extents read so far. */
    public long extentCount() {
        return extents;
    }

    /**
     * Reads and checks the next extent and passes its clusters to {@code visitor}. At a clean end of the archive it
     * checks completeness and returns false.
     *
     * @throws VmaFormatException if the archive is corrupt, truncated or incomplete (the message names the offset)
     */
    public boolean next(VmaClusterVisitor visitor) {
        if (finished) {
            return false;
        }
        long start = in.position();
        extent.clear().limit(EXTENT_HEADER_SIZE);
        int n = in.readFully(extent);
        if (n == 0) {
            finished = true;
            tracker.checkComplete(start);
            return false;
        }
        if (n < EXTENT_HEADER_SIZE) {
            throw new VmaFormatException("offset " + start + ": archive truncated inside an extent header (" + n
                    + " of 512 bytes)");
        }
        int blockCount = extentCodec.decode(extent, start, slots);
        int payload = blockCount * BLOCK_SIZE;
        if (extent.capacity() < EXTENT_HEADER_SIZE + payload) {
            ByteBuffer bigger = ByteBuffer.allocateDirect(Math.min(MAX_EXTENT_SIZE,
                    Math.max(EXTENT_HEADER_SIZE + payload, 2 * extent.capacity())));
            bigger.put(extent.flip());
            extent = bigger;
        }
        extent.limit(EXTENT_HEADER_SIZE + payload).position(EXTENT_HEADER_SIZE);
        int got = in.readFully(extent);
        if (got < payload) {
            throw new VmaFormatException("offset " + (start + EXTENT_HEADER_SIZE + got) + ": archive truncated inside "
                    + "the extent at offset " + start + " (" + got + " of " + payload + " payload bytes)");
        }
        for (int i = 0; i < SLOTS_PER_EXTENT; i++) {
            slotDevices[i] = ExtentHeaderCodec.devId(slots[i]) == 0 ? null
                    : tracker.accept(slots[i], start + EXT_OFF_SLOTS + 8L * i);
        }
        extents++;
        int at = EXTENT_HEADER_SIZE;
        for (int i = 0; i < SLOTS_PER_EXTENT; i++) {
            if (slotDevices[i] == null) {
                continue;
            }
            int mask = ExtentHeaderCodec.mask(slots[i]);
            int len = Integer.bitCount(mask) * BLOCK_SIZE;
            try {
                visitor.cluster(slotDevices[i], ExtentHeaderCodec.cluster(slots[i]), mask,
                        extent.slice(at, len).asReadOnlyBuffer());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            at += len;
        }
        return true;
    }

    /** Reads every remaining extent (see {@link #next}), ending with the completeness check. */
    public void readAll(VmaClusterVisitor visitor) {
        while (next(visitor)) {
            // next does the work
        }
    }

    /** Closes the underlying channel. */
    @Override
    public void close() {
        in.close();
    }
}
