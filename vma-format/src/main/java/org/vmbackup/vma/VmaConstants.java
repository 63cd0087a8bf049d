package org.vmbackup.vma;

/** Wire constants and limits of the VMA format, in one place (see the vma-format notes, section 2). */
final class VmaConstants {
    static final int BLOCK_SIZE = 4096;
    static final int BLOCKS_PER_CLUSTER = 16;
    /** The blockinfo mask of a cluster whose 16 blocks all hold data. */
    static final int FULL_MASK = 0xFFFF;
    static final int CLUSTER_SIZE = BLOCK_SIZE * BLOCKS_PER_CLUSTER;
    static final int CLUSTER_SHIFT = 16;
    static final int EXTENT_HEADER_SIZE = 512;
    static final int SLOTS_PER_EXTENT = 59;
    /** The reference writer flushes an extent once 58 slots are used. */
    static final int DEFAULT_CLUSTERS_PER_EXTENT = 58;
    static final int MAX_BLOCKS_PER_EXTENT = SLOTS_PER_EXTENT * BLOCKS_PER_CLUSTER;
    static final int MAX_EXTENT_SIZE = EXTENT_HEADER_SIZE + SLOTS_PER_EXTENT * CLUSTER_SIZE;
    static final int FIXED_HEADER_SIZE = 12288;
    static final int MAX_CONFIGS = 256;
    /** dev_id 0 means "no device"; the reference writer uses 1..254. */
    static final int MAX_DEVICES = 254;
    static final int MAX_DEV_ID_READ = 255;
    static final int MAX_BLOB_LENGTH = 65535;
    /** The largest blob area the reference writer produces (8 x 64 KiB). */
    static final int MAX_WRITTEN_BLOB_AREA = 8 * 65536;
    /** Upper bound on header_size accepted by the reader: 256 maximal configs, 255 names and slack. */
    static final long MAX_READ_HEADER_SIZE = FIXED_HEADER_SIZE + 512L * 2 * (MAX_BLOB_LENGTH + 2) + 512;
    static final long MAX_CLUSTERS = 1L << 32;
    static final int VERSION = 1;
    static final int HEADER_MAGIC = 0x564D4100;
    static final int EXTENT_MAGIC = 0x564D4145;
    static final String VMSTATE_NAME = "vmstate";

    // Header field offsets.
    static final int OFF_VERSION = 4;
    static final int OFF_UUID = 8;
    static final int OFF_CTIME = 24;
    static final int OFF_MD5 = 32;
    static final int OFF_BLOB_OFFSET = 48;
    static final int OFF_BLOB_SIZE = 52;
    static final int OFF_HEADER_SIZE = 56;
    static final int OFF_CONFIG_NAMES = 2044;
    static final int OFF_CONFIG_DATA = 3068;
    static final int OFF_DEV_INFO = 4096;
    static final int DEV_INFO_SIZE = 32;

    // Extent header field offsets.
    static final int EXT_OFF_RESERVED = 4;
    static final int EXT_OFF_BLOCK_COUNT = 6;
    static final int EXT_OFF_UUID = 8;
    static final int EXT_OFF_MD5 = 24;
    static final int EXT_OFF_SLOTS = 40;

    private VmaConstants() {
    }
}
