package org.vmbackup.vma;

import java.nio.ByteBuffer;

/** All-zero tests of 4 KiB blocks without per-block allocation (vectorised mismatch against a zero buffer). */
final class ZeroBlocks {
    private static final ByteBuffer ZERO_DIRECT = ByteBuffer.allocateDirect(VmaConstants.CLUSTER_SIZE)
            .asReadOnlyBuffer();
    private static final ByteBuffer ZERO_HEAP = ByteBuffer.allocate(VmaConstants.CLUSTER_SIZE).asReadOnlyBuffer();

    private ZeroBlocks() {
    }

    /** Whether {@code buf[at, at+len)} (absolute) is all zeros; len at most 64 KiB. */
    static boolean isZero(ByteBuffer buf, int at, int len) {
        ByteBuffer zero = buf.isDirect() ? ZERO_DIRECT : ZERO_HEAP;
        return buf.slice(at, len).mismatch(zero.slice(0, len)) < 0;
    }

    /** Sets {@code buf[at, at+len)} (absolute) to zero; len at most 64 KiB. */
    static void clear(ByteBuffer buf, int at, int len) {
        buf.put(at, ZERO_HEAP, 0, len);
    }

    /**
     * The 16-bit block mask of one cluster held in {@code buf[at, at+64KiB)}, considering only the first
     * {@code validLen} bytes (the part inside the device): blocks starting at or after validLen are never set.
     */
    static int mask(ByteBuffer buf, int at, int validLen) {
        int mask = 0;
        for (int j = 0; j < VmaConstants.BLOCKS_PER_CLUSTER; j++) {
            int start = j * VmaConstants.BLOCK_SIZE;
            if (start >= validLen) {
                break;
            }
            int len = Math.min(VmaConstants.BLOCK_SIZE, validLen - start);
            if (!isZero(buf, at + start, len)) {
                mask |= 1 << j;
            }
        }
        return mask;
    }
}
