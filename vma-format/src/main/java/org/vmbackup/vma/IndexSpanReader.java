package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.CLUSTER_SIZE;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Gathers the runs of one read so that stored runs lying back to back in the archive file (consecutive clusters
 * of an extent, blocks of a cluster) become one positional read. That read lands packed at the start of the
 * group in the destination; stored runs are then moved up to their places (last first, so nothing unread is
 * overwritten) and the zero runs between them cleared. No buffer besides the destination; a group holds at most
 * {@link #MAX_RUNS} runs.
 */
final class IndexSpanReader {
    private static final int MAX_RUNS = 128;
    private final FileChannel file;
    private final ByteBuffer dst;
    private final int base;
    /** Destination offsets (relative to base) and lengths of the group's runs; negative length = zero run. */
    private final int[] runAt = new int[MAX_RUNS];
    private final int[] runLen = new int[MAX_RUNS];
    private int runs;
    private long fileStart;
    private long fileEnd;
    private boolean anyStored;

    IndexSpanReader(FileChannel file, ByteBuffer dst, int base) {
        this.file = file;
        this.dst = dst;
        this.base = base;
    }

    void stored(int at, int len, long filePos) {
        if (anyStored && filePos != fileEnd || runs == MAX_RUNS) {
            flush();
        }
        if (!anyStored) {
            anyStored = true;
            fileStart = filePos;
            fileEnd = filePos;
            if (runs > 0) { // leading zero runs of a group have nothing to wait for
                clearZeroRuns();
                runs = 0;
            }
        }
        if (runs > 0 && runLen[runs - 1] > 0 && runAt[runs - 1] + runLen[runs - 1] == at) {
            runLen[runs - 1] += len;
        } else {
            runAt[runs] = at;
            runLen[runs] = len;
            runs++;
        }
        fileEnd += len;
    }

    void zero(int at, int len) {
        if (runs > 0 && runLen[runs - 1] < 0) {
            runLen[runs - 1] -= len;
            return;
        }
        if (runs == MAX_RUNS) {
            flush();
        }
        runAt[runs] = at;
        runLen[runs] = -len;
        runs++;
    }

    void flush() {
        if (anyStored) {
            int first = runAt[0];
            int packed = (int) (fileEnd - fileStart);
            ByteBuffer part = dst.slice(base + first, packed);
            if (readFully(file, part, fileStart) < packed) {
                throw new VmaFormatException("offset " + fileStart + ": archive file shrank while indexed");
            }
            int from = first + packed;
            for (int i = runs - 1; i >= 0; i--) {
                if (runLen[i] > 0) {
                    from -= runLen[i];
                    if (from != runAt[i]) { // overlapping moves copy as if through a temporary (ByteBuffer.put)
                        dst.slice(base + runAt[i], runLen[i]).put(dst.slice(base + from, runLen[i]));
                    }
                }
            }
        }
        clearZeroRuns();
        runs = 0;
        anyStored = false;
    }

    private void clearZeroRuns() {
        for (int i = 0; i < runs; i++) {
            int len = -runLen[i];
            for (int at = base + runAt[i]; len > 0; ) {
                int z = Math.min(len, CLUSTER_SIZE);
                ZeroBlocks.clear(dst, at, z);
                at += z;
                len -= z;
            }
        }
    }

    /** Reads until {@code dst} is full or the file ends; the number of bytes read. */
    static int readFully(FileChannel file, ByteBuffer dst, long at) {
        int n = 0;
        try {
            while (dst.hasRemaining()) {
                int r = file.read(dst, at + n);
                if (r < 0) {
                    break;
                }
                n += r;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the archive at offset " + (at + n) + ": " + e.getMessage(), e);
        }
        return n;
    }
}
