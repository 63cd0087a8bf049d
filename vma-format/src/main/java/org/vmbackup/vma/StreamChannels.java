package org.vmbackup.vma;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Stream-to-channel adapters that move data in large chunks (the JDK's move 8 KiB at a time, which throttles the
 * (de)compressors); direct buffers go through one reusable array.
 */
final class StreamChannels {
    private static final int CHUNK = 1 << 20;

    private StreamChannels() {
    }

    static ReadableByteChannel reading(InputStream in) {
        return new ReadableByteChannel() {
            private byte[] buf;
            private boolean open = true;

            @Override
            public int read(ByteBuffer dst) throws IOException {
                if (!dst.hasRemaining()) {
                    return 0;
                }
                if (dst.hasArray()) {
                    int n = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
                    if (n > 0) {
                        dst.position(dst.position() + n);
                    }
                    return n;
                }
                if (buf == null) {
                    buf = new byte[CHUNK];
                }
                int n = in.read(buf, 0, Math.min(CHUNK, dst.remaining()));
                if (n > 0) {
                    dst.put(buf, 0, n);
                }
                return n;
            }

            @Override
            public boolean isOpen() {
                return open;
            }

            @Override
            public void close() throws IOException {
                open = false;
                in.close();
            }
        };
    }

    static WritableByteChannel writing(OutputStream out) {
        return new WritableByteChannel() {
            private byte[] buf;
            private boolean open = true;

            @Override
            public int write(ByteBuffer src) throws IOException {
                int n = src.remaining();
                if (src.hasArray()) {
                    out.write(src.array(), src.arrayOffset() + src.position(), n);
                    src.position(src.limit());
                    return n;
                }
                if (buf == null) {
                    buf = new byte[CHUNK];
                }
                while (src.hasRemaining()) {
                    int k = Math.min(CHUNK, src.remaining());
                    src.get(buf, 0, k);
                    out.write(buf, 0, k);
                }
                return n;
            }

            @Override
            public boolean isOpen() {
                return open;
            }

            @Override
            public void close() throws IOException {
                open = false;
                out.close();
            }
        };
    }

    /** {@code out} behind a channel whose close leaves it open: the caller owns it. */
    static WritableByteChannel keepOpen(WritableByteChannel out) {
        return new WritableByteChannel() {
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
    }
}
