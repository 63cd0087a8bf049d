package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.nio.ByteBuffer;
import java.util.UUID;

/** Encodes and checks the 512-byte extent header; slots are u64 (mask 63..48, dev_id 39..32, cluster 31..0). */
final class ExtentHeaderCodec {
    private final Md5 md5 = new Md5();
    private final byte[] uuid = new byte[16];

    ExtentHeaderCodec(UUID archiveUuid) {
        ByteBuffer.wrap(uuid).putLong(archiveUuid.getMostSignificantBits())
                .putLong(archiveUuid.getLeastSignificantBits());
    }

    static long slot(int mask, int devId, long cluster) {
        return (long) mask << 48 | (long) devId << 32 | cluster;
    }

    static int mask(long slot) {
        return (int) (slot >>> 48);
    }

    static int devId(long slot) {
        return (int) (slot >>> 32) & 0xFF;
    }

    static long cluster(long slot) {
        return slot & 0xFFFF_FFFFL;
    }

    /** Writes the header into {@code buf[0, 512)} (absolute), slots beyond {@code count} zero. */
    void encode(ByteBuffer buf, long[] slots, int count, int blockCount) {
        ZeroBlocks.clear(buf, 0, EXTENT_HEADER_SIZE);
        buf.putInt(0, EXTENT_MAGIC);
        buf.putShort(EXT_OFF_BLOCK_COUNT, (short) blockCount);
        buf.put(EXT_OFF_UUID, uuid);
        for (int i = 0; i < count; i++) {
            buf.putLong(EXT_OFF_SLOTS + 8 * i, slots[i]);
        }
        buf.put(EXT_OFF_MD5, md5.sumWithZeroedField(buf, 0, EXTENT_HEADER_SIZE, EXT_OFF_MD5));
    }

    /**
     * Checks the header in {@code buf[0, 512)} in the reference order (MD5, uuid, magic and reserved, size, slots)
     * plus slot sanity, copies the 59 slots to {@code slots} and returns the block count.
     */
    int decode(ByteBuffer buf, long offset, long[] slots) {
        byte[] sum = md5.sumWithZeroedField(buf, 0, EXTENT_HEADER_SIZE, EXT_OFF_MD5);
        if (buf.slice(EXT_OFF_MD5, 16).mismatch(ByteBuffer.wrap(sum)) >= 0) {
            throw new VmaFormatException("offset " + offset + ": extent header MD5 checksum mismatch");
        }
        if (buf.slice(EXT_OFF_UUID, 16).mismatch(ByteBuffer.wrap(uuid)) >= 0) {
            throw new VmaFormatException("offset " + (offset + EXT_OFF_UUID) + ": extent uuid differs from the "
                    + "archive uuid");
        }
        if (buf.getInt(0) != EXTENT_MAGIC || buf.getShort(EXT_OFF_RESERVED) != 0) {
            throw new VmaFormatException("offset " + offset + ": bad extent magic or reserved field");
        }
        int blockCount = buf.getShort(EXT_OFF_BLOCK_COUNT) & 0xFFFF;
        int sum2 = 0;
        for (int i = 0; i < SLOTS_PER_EXTENT; i++) {
            long s = buf.getLong(EXT_OFF_SLOTS + 8 * i);
            slots[i] = s;
            if (devId(s) == 0) {
                if (s != 0) {
                    throw new VmaFormatException("offset " + (offset + EXT_OFF_SLOTS + 8 * i) + ": unused slot " + i
                            + " is not zero");
                }
                continue;
            }
            if ((s >>> 40 & 0xFF) != 0) {
                throw new VmaFormatException("offset " + (offset + EXT_OFF_SLOTS + 8 * i) + ": reserved byte of slot "
                        + i + " is not zero");
            }
            sum2 += Integer.bitCount(mask(s));
        }
        if (blockCount > MAX_BLOCKS_PER_EXTENT || blockCount != sum2) {
            throw new VmaFormatException("offset " + (offset + EXT_OFF_BLOCK_COUNT) + ": block_count " + blockCount
                    + " does not match the " + sum2 + " blocks of the slot masks");
        }
        return blockCount;
    }
}
