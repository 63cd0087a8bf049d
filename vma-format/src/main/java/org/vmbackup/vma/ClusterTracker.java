package org.vmbackup.vma;

/**
 * Per-device checks on the clusters of a decoded archive: known dev_id, cluster in range, no duplicate, vmstate in
 * sequence, and completeness at the end. Its memory is bounded by a budget, whatever the declared sizes.
 */
final class ClusterTracker {
    /** At most this many bytes of tracking bitmaps: enough for 16 TiB of clusters present. */
    static final long DEFAULT_BUDGET = 48L << 20;

    private final VmaDevice[] byId = new VmaDevice[256];
    private final ClusterBitmap[] seen = new ClusterBitmap[256];
    private final long[] nextVmstate = new long[256];
    private final long budget;
    private long used;

    ClusterTracker(VmaHeader header, long budget) {
        for (VmaDevice d : header.devices()) {
            byId[d.id()] = d;
            seen[d.id()] = new ClusterBitmap();
        }
        this.budget = budget;
    }

    /** The device of a used slot, after all checks; {@code at} is the slot's archive offset. */
    VmaDevice accept(long slot, long at) {
        int devId = ExtentHeaderCodec.devId(slot);
        long cluster = ExtentHeaderCodec.cluster(slot);
        VmaDevice d = byId[devId];
        if (d == null) {
            throw new VmaFormatException("offset " + at + ": slot refers to unknown dev_id " + devId);
        }
        if (d.isVmstate()) {
            if (cluster != nextVmstate[devId]) {
                throw new VmaFormatException("offset " + at + ": vmstate cluster " + cluster + " out of order (expected "
                        + nextVmstate[devId] + ")");
            }
            nextVmstate[devId]++;
            return d;
        }
        if (cluster >= d.clusterCount()) {
            throw new VmaFormatException("offset " + at + ": cluster " + cluster + " beyond the end of device "
                    + d.name() + " (" + d.clusterCount() + " clusters)");
        }
        ClusterBitmap map = seen[devId];
        if (map.needsChunk(cluster)) {
            used += ClusterBitmap.CHUNK_COST;
            if (used > budget) {
                throw new VmaFormatException("offset " + at + ": too many scattered clusters to track (budget "
                        + budget + " bytes)");
            }
        }
        if (!map.testAndSet(cluster)) {
            throw new VmaFormatException("offset " + at + ": duplicate cluster " + cluster + " of device " + d.name());
        }
        return d;
    }

    /** Fails unless every cluster of every non-vmstate device was seen. */
    void checkComplete(long eofOffset) {
        for (VmaDevice d : byId) {
            if (d == null || d.isVmstate()) {
                continue;
            }
            long missing = seen[d.id()].firstClear(d.clusterCount());
            if (missing >= 0) {
                throw new VmaFormatException("offset " + eofOffset + ": archive ends but device " + d.name()
                        + " (dev_id " + d.id() + ") misses cluster " + missing + " of " + d.clusterCount());
            }
        }
    }
}
