package org.vmbackup.vma;

import java.nio.ByteBuffer;
import java.util.BitSet;

/** A cluster being assembled from writes smaller than 64 KiB or not aligned to it; tracks which bytes arrived. */
final class PartialCluster {
    final ByteBuffer data = ByteBuffer.allocate(VmaConstants.CLUSTER_SIZE);
    private final BitSet covered = new BitSet(VmaConstants.CLUSTER_SIZE);
    private int coveredBytes;

    /** Marks {@code [at, at+len)} as arrived; returns false if some byte of it had already arrived. */
    boolean cover(int at, int len) {
        int prev = covered.nextSetBit(at);
        if (prev >= 0 && prev < at + len) {
            return false;
        }
        covered.set(at, at + len);
        coveredBytes += len;
        return true;
    }

    /** The first byte not yet arrived. */
    int firstMissing() {
        return covered.nextClearBit(0);
    }

    /** Whether all of the first {@code validLen} bytes arrived. */
    boolean complete(int validLen) {
        return coveredBytes >= validLen;
    }
}
