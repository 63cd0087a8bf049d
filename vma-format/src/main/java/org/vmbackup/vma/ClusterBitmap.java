package org.vmbackup.vma;

import java.util.HashMap;
import java.util.Map;

/**
 * Which clusters of one device were seen, as a sparse bitmap: chunks of 4096 bits are allocated on first use, so
 * memory follows the clusters actually present, not the declared device size. Not thread-safe.
 */
final class ClusterBitmap {
    private static final int CHUNK_BITS = 4096;
    private static final int CHUNK_SHIFT = 12;
    /** Bytes one allocated chunk costs, for the caller's memory budget. */
    static final int CHUNK_COST = CHUNK_BITS / 8 + 64;

    private final Map<Integer, long[]> chunks = new HashMap<>();
    private long count;
    /** The chunk set last (clusters mostly arrive in runs of one chunk): spares a map lookup per cluster. */
    private int lastKey = -1;
    private long[] lastChunk;

    /** Sets the bit; returns false if it was already set. {@code allocations} counts new chunks. */
    boolean testAndSet(long cluster) {
        int key = (int) (cluster >>> CHUNK_SHIFT);
        long[] chunk = key == lastKey ? lastChunk : chunks.get(key);
        if (chunk == null) {
            chunk = new long[CHUNK_BITS / 64];
            chunks.put(key, chunk);
        }
        lastKey = key;
        lastChunk = chunk;
        int bit = (int) (cluster & (CHUNK_BITS - 1));
        long m = 1L << (bit & 63);
        if ((chunk[bit >>> 6] & m) != 0) {
            return false;
        }
        chunk[bit >>> 6] |= m;
        count++;
        return true;
    }

    /** Whether the bit is set. */
    boolean get(long cluster) {
        long[] chunk = chunks.get((int) (cluster >>> CHUNK_SHIFT));
        int bit = (int) (cluster & (CHUNK_BITS - 1));
        return chunk != null && (chunk[bit >>> 6] & (1L << (bit & 63))) != 0;
    }

    /** Whether setting this cluster would allocate a new chunk. */
    boolean needsChunk(long cluster) {
        int key = (int) (cluster >>> CHUNK_SHIFT);
        return key != lastKey && !chunks.containsKey(key);
    }

    /** The number of set bits. */
    long count() {
        return count;
    }

    /** The first clear bit below {@code limit}, or -1 if all of {@code [0, limit)} are set. */
    long firstClear(long limit) {
        if (count >= limit) {
            return -1; // bits are only ever set below limit by callers
        }
        for (long base = 0; base < limit; base += CHUNK_BITS) {
            long[] chunk = chunks.get((int) (base >>> CHUNK_SHIFT));
            if (chunk == null) {
                return base;
            }
            for (int w = 0; w < chunk.length; w++) {
                if (chunk[w] != -1L) {
                    long c = base + w * 64L + Long.numberOfTrailingZeros(~chunk[w]);
                    return c < limit ? c : -1;
                }
            }
        }
        return -1;
    }
}
