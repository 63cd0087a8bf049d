package org.vmbackup.store.s3;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * A request body streamed from the first {@code length} bytes of a file by position: a disk's index (32 MiB per
 * TiB of disk) is uploaded without a copy on the heap. Each attempt (retries included) reads from the start
 * again; the channel's own position is never used, so the caller's file is left as it was.
 */
final class ChannelBody {
    private ChannelBody() {
    }

    static RequestBody of(FileChannel file, long length) {
        return RequestBody.fromContentProvider(() -> new Stream(file, length), length, "application/octet-stream");
    }

    private static final class Stream extends InputStream {
        private final FileChannel file;
        private final long length;
        private long pos;

        Stream(FileChannel file, long length) {
            this.file = file;
            this.length = length;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] out, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (pos >= length) {
                return -1;
            }
            int n = file.read(ByteBuffer.wrap(out, off, (int) Math.min(len, length - pos)), pos);
            if (n < 0) {
                throw new java.io.EOFException("the file ends at " + pos + " of " + length + " bytes");
            }
            pos += n;
            return n;
        }

        @Override
        public int available() {
            return (int) Math.min(Integer.MAX_VALUE, length - pos);
        }
    }
}
