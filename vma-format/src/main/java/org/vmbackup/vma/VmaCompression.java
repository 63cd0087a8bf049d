package org.vmbackup.vma;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * The compression around a VMA stream. Writers choose it by file name ({@code .vma.zst}/{@code .zst} is zstd,
 * {@code .gz} gzip, anything else none); readers by the first bytes (zstd and gzip magic, else raw).
 */
public enum VmaCompression {
    /** A plain VMA stream. */
    NONE,
    /** Zstandard (what Proxmox stores as {@code .vma.zst}); concatenated frames are read. */
    ZSTD,
    /** gzip; concatenated members are read. */
    GZIP;

    private static final int STREAM_BUFFER = 1 << 20;
    /** Decompressed buffers in flight between the decompressing thread and the reader: 4 MiB in all. */
    private static final int READ_AHEAD_BUFFERS = 4;

    /** The compression a writer uses for this file name. */
    public static VmaCompression forFileName(Path file) {
        String name = file.getFileName().toString();
        if (name.endsWith(".zst")) {
            return ZSTD;
        }
        if (name.endsWith(".gz")) {
            return GZIP;
        }
        return NONE;
    }

    /** The compression recognised from the first bytes of a stream (fewer than 4 bytes mean none). */
    public static VmaCompression detect(ByteBuffer first) {
        if (first.remaining() >= 4 && first.getInt(first.position()) == 0x28B52FFD) {
            return ZSTD;
        }
        if (first.remaining() >= 2 && (first.get(first.position()) & 0xFF) == 0x1F
                && (first.get(first.position() + 1) & 0xFF) == 0x8B) {
            return GZIP;
        }
        return NONE;
    }

    /**
     * Wraps an output channel; closing the result finishes the compressed stream and closes {@code out}.
     *
     * @param workers zstd worker threads (0 = compress in the calling thread); ignored for other kinds
     */
    public WritableByteChannel compress(WritableByteChannel out, int level, int workers) throws IOException {
        OutputStream os = Channels.newOutputStream(out);
        return switch (this) {
            case NONE -> out;
            case GZIP -> StreamChannels.writing(new GZIPOutputStream(os, STREAM_BUFFER));
            case ZSTD -> {
                ZstdOutputStream z = new ZstdOutputStream(os, level);
                z.setChecksum(true); // the VMA payload has no checksum of its own
                if (workers > 0) {
                    z.setWorkers(workers);
                }
                yield StreamChannels.writing(z);
            }
        };
    }

    /** Wraps an input stream with the decompressor of this kind. */
    public InputStream decompress(InputStream in) throws IOException {
        return switch (this) {
            case NONE -> in;
            case GZIP -> new GZIPInputStream(in, STREAM_BUFFER);
            case ZSTD -> new ZstdInputStream(in);
        };
    }

    /**
     * Peeks at the first bytes of {@code in} and returns a channel of the decompressed VMA stream (bytes peeked
     * are not lost).
     */
    static ReadableByteChannel autoDetect(ReadableByteChannel in) throws IOException {
        ByteBuffer first = ByteBuffer.allocate(4);
        while (first.hasRemaining()) {
            if (in.read(first) < 0) {
                break;
            }
        }
        first.flip();
        VmaCompression kind = detect(first);
        ReadableByteChannel whole = new PrefixedChannel(first, in);
        if (kind == NONE) {
            return whole;
        }
        InputStream source = DecompressorErrors.source(Channels.newInputStream(whole));
        InputStream plain;
        try {
            plain = kind.decompress(source);
        } catch (IOException e) {
            if (e instanceof DecompressorErrors.SourceFailure && e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new VmaFormatException("offset 0: corrupt " + kind.name().toLowerCase(java.util.Locale.ROOT)
                    + " stream header: " + e.getMessage(), e);
        }
        // decompression (one core's worth: zstd at ~1 GB/s here) runs on its own thread, ahead of the consumer
        return new ReadAheadChannel(StreamChannels.reading(DecompressorErrors.decompressed(plain, kind)),
                READ_AHEAD_BUFFERS, STREAM_BUFFER, "vma-" + kind.name().toLowerCase(java.util.Locale.ROOT) + "-read-ahead");
    }

    /** A channel that first returns some already-read bytes, then the rest of another channel. */
    private static final class PrefixedChannel implements ReadableByteChannel {
        private final ByteBuffer prefix;
        private final ReadableByteChannel rest;

        PrefixedChannel(ByteBuffer prefix, ReadableByteChannel rest) {
            this.prefix = prefix;
            this.rest = rest;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (prefix.hasRemaining()) {
                int n = Math.min(prefix.remaining(), dst.remaining());
                dst.put(prefix.slice(prefix.position(), n));
                prefix.position(prefix.position() + n);
                return n;
            }
            return rest.read(dst);
        }

        @Override
        public boolean isOpen() {
            return rest.isOpen();
        }

        @Override
        public void close() throws IOException {
            rest.close();
        }
    }
}
