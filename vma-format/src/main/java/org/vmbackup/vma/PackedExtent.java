package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.nio.ByteBuffer;

/**
 * One pool buffer being filled with clusters, guarded by the packer's lock. It goes to the output once full (sealed)
 * and no in-place reservation in it is still being filled.
 */
final class PackedExtent {
    final ByteBuffer buf;
    final long[] slots = new long[SLOTS_PER_EXTENT];
    /** Per slot, the blocks holding data: less than the slot's stored blocks only for in-place clusters. */
    final int[] dataMasks = new int[SLOTS_PER_EXTENT];
    int slotCount;
    int blockCount;
    /** In-place reservations in this extent not yet committed or abandoned. */
    int pending;
    boolean sealed;
    boolean needsCompaction;
    /**
     * Whether it holds vmstate clusters. The reader takes the vmstate stream in archive order, so such an extent is
     * never pinned by a reservation (it must reach the output when sealed, before any later vmstate cluster).
     */
    boolean holdsVmstate;

    PackedExtent(ByteBuffer buf) {
        this.buf = buf;
    }

    /** Where the next stored block goes. */
    int dataEnd() {
        return EXTENT_HEADER_SIZE + blockCount * BLOCK_SIZE;
    }

    /** Appends a slot whose {@code storedMask} blocks were placed at {@link #dataEnd()}. */
    void addSlot(long slot, int storedMask, int dataMask) {
        dataMasks[slotCount] = dataMask;
        slots[slotCount++] = slot;
        blockCount += Integer.bitCount(storedMask);
    }

    /**
     * In-place clusters were stored with all 16 blocks; drops the blocks that turned out to be zero by moving the
     * later blocks down (whole blocks, always to a lower index, so source and target never overlap).
     */
    void compact() {
        int read = 0;
        int write = 0;
        for (int s = 0; s < slotCount; s++) {
            int stored = ExtentHeaderCodec.mask(slots[s]);
            int data = dataMasks[s];
            for (int m = stored; m != 0; m &= m - 1) {
                if ((data & Integer.lowestOneBit(m)) != 0) {
                    if (read != write) {
                        buf.put(EXTENT_HEADER_SIZE + write * BLOCK_SIZE, buf, EXTENT_HEADER_SIZE + read * BLOCK_SIZE,
                                BLOCK_SIZE);
                    }
                    write++;
                }
                read++;
            }
            if (stored != data) {
                slots[s] = ExtentHeaderCodec.slot(data, ExtentHeaderCodec.devId(slots[s]),
                        ExtentHeaderCodec.cluster(slots[s]));
            }
        }
        blockCount = write;
    }
}
