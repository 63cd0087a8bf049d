package org.vmbackup.store;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A disk's chunk list (FORMAT.md, "Fixed index"): one digest per chunk, the hole digest for all-zero chunks.
 * Mutable while a snapshot is written (each slot set once by its chunk's worker), read-only once decoded.
 */
final class FixedIndex {
    private static final byte[] MAGIC = "VBFIDX01".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = 32;
    private final long size;
    private final int chunkSize;
    private final byte[] digests;

    FixedIndex(long size, int chunkSize) {
        this.size = size;
        this.chunkSize = chunkSize;
        this.digests = new byte[Math.toIntExact(Math.multiplyExact(chunkCount(size, chunkSize), Digests.LENGTH))];
    }

    private FixedIndex(long size, int chunkSize, byte[] digests) {
        this.size = size;
        this.chunkSize = chunkSize;
        this.digests = digests;
    }

    static long chunkCount(long size, int chunkSize) {
        return (size + chunkSize - 1) / chunkSize;
    }

    long size() {
        return size;
    }

    int chunkSize() {
        return chunkSize;
    }

    int count() {
        return digests.length / Digests.LENGTH;
    }

    /** The length of chunk {@code i} (the last one may be shorter). */
    int chunkLength(int i) {
        return (int) Math.min(chunkSize, size - (long) i * chunkSize);
    }

    byte[] digest(int i) {
        return Arrays.copyOfRange(digests, i * Digests.LENGTH, (i + 1) * Digests.LENGTH);
    }

    boolean isHole(int i) {
        for (int k = i * Digests.LENGTH; k < (i + 1) * Digests.LENGTH; k++) {
            if (digests[k] != 0) {
                return false;
            }
        }
        return true;
    }

    void set(int i, byte[] digest) {
        System.arraycopy(digest, 0, digests, i * Digests.LENGTH, Digests.LENGTH);
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER + digests.length);
        b.put(MAGIC).putLong(size).putInt(chunkSize).putInt(0).putLong(count()).put(digests);
        return b.array();
    }

    /** Decodes and checks an index; {@code what} names it in errors. */
    static FixedIndex decode(byte[] data, String what) throws CorruptDataException {
        ByteBuffer b = ByteBuffer.wrap(data);
        if (data.length < HEADER || !Arrays.equals(Arrays.copyOf(data, MAGIC.length), MAGIC)) {
            throw new CorruptDataException(what + ": not a fixed index (bad header)");
        }
        b.position(MAGIC.length);
        long size = b.getLong();
        int chunk = b.getInt();
        b.getInt();
        long count = b.getLong();
        if (size < 0 || chunk < StoreOptions.MIN_CHUNK_SIZE || Integer.bitCount(chunk) != 1 || count != chunkCount(size, chunk)) {
            throw new CorruptDataException(what + ": damaged header");
        }
        if ((long) data.length - HEADER != count * Digests.LENGTH) {
            throw new CorruptDataException(what + ": truncated or too long (" + data.length + " bytes for " + count + " chunks)");
        }
        return new FixedIndex(size, chunk, Arrays.copyOfRange(data, HEADER, data.length));
    }
}
