package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Cuts writes of any size and alignment into clusters: whole clusters go straight to the {@link ExtentPacker},
 * pieces are collected in a bounded number of {@link PartialCluster}s until all in-device bytes of the cluster
 * arrived. Partial state is guarded by the packer's lock.
 */
final class ClusterAssembler {
    private final ExtentPacker packer;
    private final int maxPartialClusters;
    private final Map<Long, PartialCluster> partials = new HashMap<>();

    ClusterAssembler(ExtentPacker packer, int maxPartialClusters) {
        this.packer = packer;
        this.maxPartialClusters = maxPartialClusters;
    }

    /**
     * Stores device bytes {@code [offset, offset + length)} from {@code data} at its position, or zeros when
     * {@code data} is null. Bytes past the device end but inside its last cluster are ignored. Takes the lock.
     */
    void store(WriterDevice ds, long offset, long length, ByteBuffer data) {
        VmaDevice dev = ds.device;
        int pos = data == null ? 0 : data.position();
        long off = offset;
        long end = offset + length;
        while (off < end) {
            long cluster = off >>> CLUSTER_SHIFT;
            int inCluster = (int) (off & (CLUSTER_SIZE - 1));
            int validLen = (int) Math.min(CLUSTER_SIZE, dev.size() - (cluster << CLUSTER_SHIFT));
            int piece = (int) Math.min(end - off, CLUSTER_SIZE - inCluster);
            if (inCluster == 0 && piece >= validLen) {
                int mask = data == null ? 0 : ZeroBlocks.mask(data, pos, validLen);
                packer.lock.lock();
                try {
                    packer.ensureExtent();
                    if (isPartial(dev, cluster)) {
                        throw ds.writtenTwice(cluster);
                    }
                    packer.emit(ds, cluster, mask, data, pos, validLen);
                } finally {
                    packer.lock.unlock();
                }
            } else {
                int pieceValid = Math.max(0, Math.min(piece, validLen - inCluster));
                if (pieceValid > 0) {
                    assemble(ds, cluster, inCluster, pieceValid, data, pos, validLen);
                }
            }
            if (data != null) {
                pos += piece;
            }
            off += piece;
        }
    }

    /** Whether some bytes of this cluster arrived but not all. Lock held. */
    boolean isPartial(VmaDevice dev, long cluster) {
        return partials.containsKey(key(dev, cluster));
    }

    /** Adds a piece of a cluster; emits the cluster once all of its in-device bytes arrived. */
    private void assemble(WriterDevice ds, long cluster, int at, int len, ByteBuffer src, int srcAt, int validLen) {
        VmaDevice dev = ds.device;
        packer.lock.lock();
        try {
            packer.ensureExtent();
            if (ds.written.get(cluster)) {
                throw ds.writtenTwice(cluster);
            }
            long key = key(dev, cluster);
            PartialCluster p = partials.get(key);
            if (p == null) {
                if (partials.size() >= maxPartialClusters) {
                    throw new VmaFormatException("more than " + maxPartialClusters + " clusters partially written "
                            + "at once (device " + dev.name() + ", cluster " + cluster + ")");
                }
                p = new PartialCluster();
                partials.put(key, p);
            }
            if (!p.cover(at, len)) {
                throw new VmaFormatException("device " + dev.name() + ": bytes in [" + ((cluster << CLUSTER_SHIFT) + at)
                        + ", +" + len + ") written twice");
            }
            if (src != null) {
                p.data.put(at, src, srcAt, len);
            }
            if (p.complete(validLen)) {
                partials.remove(key);
                packer.emit(ds, cluster, ZeroBlocks.mask(p.data, 0, validLen), p.data, 0, validLen);
            }
        } finally {
            packer.lock.unlock();
        }
    }

    /** Fails naming the first cluster some but not all of whose bytes arrived. Lock held. */
    void checkNoneIncomplete(WriterDevice[] byId) {
        for (Map.Entry<Long, PartialCluster> e : partials.entrySet()) {
            VmaDevice d = byId[(int) (e.getKey() >>> 32)].device;
            long cluster = e.getKey() & 0xFFFF_FFFFL;
            throw new VmaFormatException("device " + d.name() + ": cluster " + cluster + " incomplete (byte "
                    + ((cluster << CLUSTER_SHIFT) + e.getValue().firstMissing()) + " not written)");
        }
    }

    private static long key(VmaDevice dev, long cluster) {
        return (long) dev.id() << 32 | cluster;
    }
}
