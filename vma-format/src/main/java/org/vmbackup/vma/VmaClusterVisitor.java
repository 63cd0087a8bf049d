package org.vmbackup.vma;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Receives the clusters of an archive in archive order, after their extent passed every check. */
@FunctionalInterface
public interface VmaClusterVisitor {
    /**
     * One cluster.
     *
     * @param device the device it belongs to
     * @param cluster the cluster number: device bytes {@code [cluster * 65536, +65536)}
     * @param mask bit j set means 4 KiB block j is stored; clear means it is all zeros
     * @param blocks {@code bitCount(mask) * 4096} bytes, the stored blocks in increasing j; read-only and valid only
     *     during this call. In the last cluster of a device, blocks may extend past the device end; drop those bytes.
     * @throws IOException if the consumer fails (the reader rethrows it unchecked)
     */
    void cluster(VmaDevice device, long cluster, int mask, ByteBuffer blocks) throws IOException;
}
