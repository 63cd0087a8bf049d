package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * The metadata of a qcow2 v3 image (QEMU's docs/interop/qcow2.txt) written by a restore in one pass: guest cluster
 * {@code i} lives at host cluster {@code 1 + i} (the layout of {@code qemu-img create -o preallocation=metadata},
 * without its metadata in front), so every archive run is one positional write, in whatever order the archive
 * delivers runs, and the only state kept while copying is one bit per guest cluster (2 MiB per TiB of disk). The
 * header, L1 table, the L2 tables of ranges holding data and the refcount structures are written after the data, by
 * {@link #finish}. Clusters never written stay unallocated in the image (read as zeros, no host space), so the image
 * file is sparse: its apparent size is about the disk size, its allocated size the data written, as with the raw
 * restore.
 */
final class Qcow2Layout {
    static final int CLUSTER_BITS = 16;
    static final int CLUSTER = 1 << CLUSTER_BITS;
    /** Where guest offset 0 lives in the file: right after the header cluster. */
    static final long DATA_OFFSET = CLUSTER;

    private static final int MAGIC = 0x514649fb; // "QFI\xfb"
    private static final int VERSION = 3;
    private static final int HEADER_LENGTH = 104; // the v3 header without optional fields; no extensions follow
    private static final int REFCOUNT_ORDER = 4; // 16-bit refcounts, QEMU's default
    private static final long COPIED = 1L << 63; // refcount is exactly 1: QEMU may write in place
    private static final int L2_ENTRIES = CLUSTER / 8;
    private static final int REFCOUNTS_PER_BLOCK = CLUSTER / 2;

    private final long size;
    private final long guestClusters;
    private final long[] data;

    /** The layout of a disk of {@code size} bytes, nothing written yet. */
    Qcow2Layout(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("negative disk size " + size);
        }
        this.size = size;
        this.guestClusters = (virtualSize(size) + CLUSTER - 1) >>> CLUSTER_BITS;
        this.data = new long[(int) ((guestClusters + 63) >>> 6)];
    }

    /**
     * The virtual size the header records for a disk of {@code size} bytes: rounded up to whole 512-byte sectors,
     * since QEMU reads a qcow2 size in whole sectors and would cut a partial last sector off; {@code qemu-img
     * convert} of a raw image of that size rounds the same way. The added bytes read as zeros.
     */
    static long virtualSize(long size) {
        return (size + 511) & ~511L;
    }

    /** The file offset of guest offset {@code offset}. */
    static long hostOffset(long offset) {
        return DATA_OFFSET + offset;
    }

    /** Marks the guest clusters that {@code [offset, offset+length)} touches as holding data. */
    void markData(long offset, long length) {
        if (length <= 0) {
            return;
        }
        for (long c = offset >>> CLUSTER_BITS; c <= (offset + length - 1) >>> CLUSTER_BITS; c++) {
            data[(int) (c >>> 6)] |= 1L << (c & 63);
        }
    }

    private boolean hasData(long guestCluster) {
        return (data[(int) (guestCluster >>> 6)] & (1L << (guestCluster & 63))) != 0;
    }

    private boolean l2Used(long l1Index) {
        long from = l1Index * L2_ENTRIES;
        long to = Math.min(guestClusters, from + L2_ENTRIES);
        for (long c = from; c < to; c++) {
            if ((c & 63) == 0 && to - c >= 64) {
                if (data[(int) (c >>> 6)] != 0) {
                    return true;
                }
                c += 63;
            } else if (hasData(c)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Writes the metadata after the data region and the header last, so a crash before it leaves no file that
     * claims to be a qcow2 image. The caller flushes.
     */
    void finish(FileChannel ch) throws IOException {
        int l1Size = (int) Math.max(1, (guestClusters + L2_ENTRIES - 1) / L2_ENTRIES);
        long l1Clusters = clusters(l1Size * 8L);
        long[] l2Cluster = new long[l1Size]; // host cluster of each used L2 table, 0 if none
        long metaStart = 1 + guestClusters; // first host cluster after the data region
        long next = metaStart + l1Clusters;
        for (int j = 0; j < l1Size; j++) {
            if (l2Used(j)) {
                l2Cluster[j] = next++;
            }
        }
        long tablesEnd = next; // L1 and L2 end here; the refcount table and blocks follow
        // the refcount structures cover themselves: grow them until their own clusters fit
        long tableClusters = 1;
        long blocks = 0;
        while (true) {
            long end = tablesEnd + tableClusters + blocks;
            long groups = (end + REFCOUNTS_PER_BLOCK - 1) / REFCOUNTS_PER_BLOCK;
            long needTable = clusters(groups * 8);
            long needBlocks = 0;
            for (long g = 0; g < groups; g++) {
                if (groupUsed(g, metaStart, end)) {
                    needBlocks++;
                }
            }
            if (needTable == tableClusters && needBlocks == blocks) {
                break;
            }
            tableClusters = Math.max(tableClusters, needTable);
            blocks = needBlocks;
        }
        long tableStart = tablesEnd;
        long end = tableStart + tableClusters + blocks;
        long groups = (end + REFCOUNTS_PER_BLOCK - 1) / REFCOUNTS_PER_BLOCK;

        ByteBuffer cluster = ByteBuffer.allocateDirect(CLUSTER);
        // L2 tables
        for (int j = 0; j < l1Size; j++) {
            if (l2Cluster[j] == 0) {
                continue;
            }
            clear(cluster);
            long from = (long) j * L2_ENTRIES;
            for (int k = 0; k < L2_ENTRIES && from + k < guestClusters; k++) {
                if (hasData(from + k)) {
                    cluster.putLong(k * 8, ((1 + from + k) << CLUSTER_BITS) | COPIED);
                }
            }
            write(ch, cluster, l2Cluster[j] << CLUSTER_BITS);
        }
        // L1 table
        ByteBuffer l1 = ByteBuffer.allocateDirect((int) (l1Clusters << CLUSTER_BITS));
        for (int j = 0; j < l1Size; j++) {
            if (l2Cluster[j] != 0) {
                l1.putLong(j * 8, (l2Cluster[j] << CLUSTER_BITS) | COPIED);
            }
        }
        write(ch, l1, metaStart << CLUSTER_BITS);
        // refcount blocks, then the table pointing at them
        ByteBuffer table = ByteBuffer.allocateDirect((int) (tableClusters << CLUSTER_BITS));
        long block = tableStart + tableClusters;
        for (long g = 0; g < groups; g++) {
            if (!groupUsed(g, metaStart, end)) {
                continue;
            }
            clear(cluster);
            long first = g * REFCOUNTS_PER_BLOCK;
            for (int k = 0; k < REFCOUNTS_PER_BLOCK && first + k < end; k++) {
                if (allocated(first + k, metaStart, end)) {
                    cluster.putShort(k * 2, (short) 1);
                }
            }
            write(ch, cluster, block << CLUSTER_BITS);
            table.putLong((int) (g * 8), block << CLUSTER_BITS);
            block++;
        }
        write(ch, table, tableStart << CLUSTER_BITS);
        // the header last
        clear(cluster);
        cluster.putInt(0, MAGIC).putInt(4, VERSION).putInt(20, CLUSTER_BITS).putLong(24, virtualSize(size))
                .putInt(36, l1Size).putLong(40, metaStart << CLUSTER_BITS)
                .putLong(48, tableStart << CLUSTER_BITS).putInt(56, (int) tableClusters)
                .putInt(96, REFCOUNT_ORDER).putInt(100, HEADER_LENGTH);
        write(ch, cluster, 0);
    }

    /** Whether host cluster {@code c} is in use: the header, a data cluster, or metadata. */
    private boolean allocated(long c, long metaStart, long end) {
        if (c == 0 || (c >= metaStart && c < end)) {
            return true;
        }
        return c < metaStart && hasData(c - 1);
    }

    private boolean groupUsed(long g, long metaStart, long end) {
        long first = g * REFCOUNTS_PER_BLOCK;
        long last = Math.min(end, first + REFCOUNTS_PER_BLOCK); // exclusive
        if (first == 0 || last > metaStart) {
            return true;
        }
        for (long c = first; c < last; c++) {
            if (hasData(c - 1)) {
                return true;
            }
        }
        return false;
    }

    private static long clusters(long bytes) {
        return Math.max(1, (bytes + CLUSTER - 1) >>> CLUSTER_BITS);
    }

    private static void clear(ByteBuffer b) {
        b.clear();
        while (b.hasRemaining()) {
            b.putLong(0);
        }
        b.clear();
    }

    private static void write(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        b.clear();
        long at = pos;
        while (b.hasRemaining()) {
            at += ch.write(b, at);
        }
    }
}
