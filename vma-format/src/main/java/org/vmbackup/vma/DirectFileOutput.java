package org.vmbackup.vma;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sequential archive output that bypasses the page cache (O_DIRECT). An archive is written once and not read back
 * soon; through the page cache every byte is copied into freshly allocated cache pages (slow where touching new
 * memory is expensive, as in VMs with free page reporting), evicts pages the host needs, and leaves gigabytes of
 * dirty data whose writeback slows the next guest pause. O_DIRECT needs the file position, length and memory
 * address aligned to the file system's block size, which VMA extents (512 + n * 4096 bytes) are not: the bytes are
 * gathered into an aligned stage (one memory copy of hot buffers instead of the kernel's copy into new pages) and
 * written in whole stages; the unaligned tail goes through an ordinary descriptor on close.
 *
 * <p>Opening fails with an {@link IOException} where the file system refuses O_DIRECT (tmpfs): callers fall back to
 * buffered output.
 */
final class DirectFileOutput implements WritableByteChannel {
    private static final Logger log = LoggerFactory.getLogger(DirectFileOutput.class);
    private static final int STAGE = 4 << 20;

    private final Path path;
    private final FileChannel direct;
    private final int align;
    private final ByteBuffer stage;
    private long position;
    private boolean open = true;

    private DirectFileOutput(Path path, FileChannel direct, int align) {
        this.path = path;
        this.direct = direct;
        this.align = align;
        this.stage = ByteBuffer.allocateDirect(STAGE + align).alignedSlice(align);
    }

    /**
     * Opens {@code path}, which the caller just created empty, for direct writes from offset 0.
     *
     * @throws IOException if the file system does not support O_DIRECT
     */
    static DirectFileOutput open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
        try {
            int align = (int) Math.max(512, path.getFileSystem().provider().getFileStore(path).getBlockSize());
            if (align > (1 << 16) || Integer.bitCount(align) != 1) {
                throw new IOException("unexpected block size " + align + " of " + path);
            }
            return new DirectFileOutput(path, ch, align);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (!open) {
            throw new IOException("archive output closed");
        }
        int n = src.remaining();
        while (src.hasRemaining()) {
            int k = Math.min(stage.remaining(), src.remaining());
            stage.put(stage.position(), src, src.position(), k);
            stage.position(stage.position() + k);
            src.position(src.position() + k);
            if (!stage.hasRemaining()) {
                flushStage(stage.position());
            }
        }
        return n;
    }

    /** Writes the first {@code bytes} (a multiple of the alignment) of the stage and keeps the rest at its start. */
    private void flushStage(int bytes) throws IOException {
        int filled = stage.position();
        ByteBuffer out = stage.duplicate().position(0).limit(bytes);
        while (out.hasRemaining()) {
            position += direct.write(out, position);
        }
        stage.put(0, stage, bytes, filled - bytes);
        stage.position(filled - bytes);
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /** Writes what is staged (the aligned part directly, the tail through the page cache) and closes. */
    @Override
    public void close() throws IOException {
        if (!open) {
            return;
        }
        open = false;
        try (direct) {
            int aligned = stage.position() & -align;
            if (aligned > 0) {
                flushStage(aligned);
            }
            if (stage.position() > 0) {
                try (FileChannel tail = FileChannel.open(path, StandardOpenOption.WRITE)) {
                    ByteBuffer rest = stage.duplicate().flip();
                    while (rest.hasRemaining()) {
                        position += tail.write(rest, position);
                    }
                }
            }
            log.debug("{}: {} bytes written with O_DIRECT (block size {})", path, position, align);
        }
    }
}
