package org.vmbackup.store.s3;

import java.io.InputStream;
import java.nio.ByteBuffer;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * A request body read straight from a buffer: the SDK's own buffer bodies copy it, which would double the
 * memory of every upload in flight. Each attempt (retries included) reads a fresh view, so the caller's buffer
 * must stay unchanged until the call returns, as the backend contract says.
 */
final class BufferBody {
    private BufferBody() {
    }

    static RequestBody of(ByteBuffer data) {
        ByteBuffer view = data.duplicate();
        return RequestBody.fromContentProvider(() -> new Stream(view.duplicate()), view.remaining(),
                "application/octet-stream");
    }

    private static final class Stream extends InputStream {
        private final ByteBuffer b;

        Stream(ByteBuffer b) {
            this.b = b;
        }

        @Override
        public int read() {
            return b.hasRemaining() ? b.get() & 0xff : -1;
        }

        @Override
        public int read(byte[] out, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (!b.hasRemaining()) {
                return -1;
            }
            int n = Math.min(len, b.remaining());
            b.get(out, off, n);
            return n;
        }

        @Override
        public int available() {
            return b.remaining();
        }
    }
}
