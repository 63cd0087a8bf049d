package org.vmbackup.vma;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Tells corrupt compressed data apart from I/O errors of the source: failures of the decompressor become
 * {@link VmaFormatException}s, failures of the underlying stream stay {@link IOException}s.
 */
final class DecompressorErrors {
    private DecompressorErrors() {
    }

    /** An I/O error of the compressed source, carried through the decompressor unchanged. */
    static final class SourceFailure extends IOException {
        private static final long serialVersionUID = 1L;

        SourceFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** Marks the source's own I/O errors so they can be recognised after passing through the decompressor. */
    static InputStream source(InputStream in) {
        return new FilterInputStream(in) {
            @Override
            public int read() throws IOException {
                try {
                    return super.read();
                } catch (IOException e) {
                    throw new SourceFailure(e);
                }
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try {
                    return super.read(b, off, len);
                } catch (IOException e) {
                    throw new SourceFailure(e);
                }
            }
        };
    }

    /** The decompressed stream, with decompression failures turned into VmaFormatException. */
    static InputStream decompressed(InputStream in, VmaCompression kind) {
        return new FilterInputStream(in) {
            private long position;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try {
                    int n = super.read(b, off, len);
                    if (n > 0) {
                        position += n;
                    }
                    return n;
                } catch (SourceFailure e) {
                    throw (IOException) e.getCause();
                } catch (IOException | RuntimeException e) {
                    throw new VmaFormatException("offset " + position + " (decompressed): corrupt or truncated "
                            + kind.name().toLowerCase(java.util.Locale.ROOT) + " stream: " + e.getMessage(), e);
                }
            }
        };
    }
}
