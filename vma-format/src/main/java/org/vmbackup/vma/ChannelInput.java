package org.vmbackup.vma;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/** Strictly sequential reads from a blocking channel, counting the archive offset for error messages. */
final class ChannelInput implements AutoCloseable {
    private final ReadableByteChannel channel;
    private long position;

    ChannelInput(ReadableByteChannel channel) {
        this.channel = channel;
    }

    /** Reads until {@code dst} is full or EOF; returns the number of bytes read. */
    int readFully(ByteBuffer dst) {
        int total = 0;
        try {
            while (dst.hasRemaining()) {
                int n = channel.read(dst);
                if (n < 0) {
                    break;
                }
                if (n == 0) {
                    Thread.onSpinWait();
                }
                total += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the archive at offset " + (position + total) + ": "
                    + e.getMessage(), e);
        }
        position += total;
        return total;
    }

    /** The number of archive bytes consumed so far. */
    long position() {
        return position;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
