package org.vmbackup.store;

import java.util.Arrays;

/**
 * A set of chunk digests in flat arrays of 32 MiB (open addressing, linear probing): about 46 bytes per digest, against
 * ~150 for a {@code HashSet} of hex strings or wrapped arrays. verify and gc hold one entry per distinct chunk of a
 * store, so this is what their memory grows with (as Proxmox Backup Server's verify keeps its set of verified
 * digests). Digests are uniform (SHA-256, or HMAC-SHA-256 on encrypted stores), so their first bytes are the hash.
 * Not thread-safe.
 */
final class DigestSet {
    private static final int L = Digests.LENGTH;
    /** Slots per segment: 32 MiB arrays, so that no array index overflows however many digests there are. */
    private static final int SEGMENT_SHIFT = 20;
    private static final int SEGMENT_MASK = (1 << SEGMENT_SHIFT) - 1;
    private static final int MAX_SLOTS = 1 << 30;
    private byte[][] slots;
    private long[] used;
    private int mask;
    private int size;

    DigestSet() {
        allocate(1 << 10);
    }

    private void allocate(int capacity) {
        slots = new byte[Math.max(1, capacity >>> SEGMENT_SHIFT)][];
        for (int k = 0; k < slots.length; k++) {
            slots[k] = new byte[Math.min(capacity, 1 << SEGMENT_SHIFT) * L];
        }
        used = new long[(capacity + 63) >>> 6];
        mask = capacity - 1;
        size = 0;
    }

    /** @return how many digests the set holds */
    int size() {
        return size;
    }

    /**
     * Adds {@code digest} (32 bytes).
     *
     * @return true when it was not in the set before
     */
    boolean add(byte[] digest) {
        check(digest);
        if ((size + 1) * 10L > (mask + 1L) * 7) {
            grow();
        }
        int i = find(digest);
        if (isUsed(i)) {
            return false;
        }
        put(i, digest, 0);
        return true;
    }

    /** @return whether {@code digest} (32 bytes) is in the set */
    boolean contains(byte[] digest) {
        check(digest);
        return isUsed(find(digest));
    }

    private static void check(byte[] digest) {
        if (digest.length != L) {
            throw new IllegalArgumentException("a digest has " + L + " bytes, not " + digest.length);
        }
    }

    /** The slot holding {@code d}, or the free slot where it would go. */
    private int find(byte[] d) {
        int i = home(d, 0);
        while (isUsed(i) && !Arrays.equals(segment(i), offset(i), offset(i) + L, d, 0, L)) {
            i = (i + 1) & mask;
        }
        return i;
    }

    private int home(byte[] d, int off) {
        int h = (d[off] & 0xff) | (d[off + 1] & 0xff) << 8 | (d[off + 2] & 0xff) << 16 | (d[off + 3] & 0xff) << 24;
        return h & mask;
    }

    private byte[] segment(int i) {
        return slots[i >>> SEGMENT_SHIFT];
    }

    private static int offset(int i) {
        return (i & SEGMENT_MASK) * L;
    }

    private boolean isUsed(int i) {
        return (used[i >>> 6] & (1L << i)) != 0;
    }

    private void put(int i, byte[] src, int off) {
        System.arraycopy(src, off, segment(i), offset(i), L);
        used[i >>> 6] |= 1L << i;
        size++;
    }

    private void grow() {
        int capacity = mask + 1;
        if (capacity >= MAX_SLOTS) {
            throw new IllegalStateException("more than " + (MAX_SLOTS / 10 * 7) + " distinct chunks in one set");
        }
        byte[][] oldSlots = slots;
        long[] oldUsed = used;
        allocate(capacity * 2);
        for (int j = 0; j < capacity; j++) {
            if ((oldUsed[j >>> 6] & (1L << j)) != 0) {
                byte[] seg = oldSlots[j >>> SEGMENT_SHIFT];
                int i = home(seg, offset(j));
                while (isUsed(i)) {
                    i = (i + 1) & mask;
                }
                put(i, seg, offset(j));
            }
        }
    }
}
