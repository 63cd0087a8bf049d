package org.vmbackup.testkit.guest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Reads the one fact of an ext4 image's superblock the consistency proofs need: whether its journal needs recovery
 * (the {@code needs_recovery} feature {@code dumpe2fs -h} lists). A mounted file system has it set; a frozen one
 * (FIFREEZE, what {@code guest-fsfreeze-freeze} does) and a cleanly unmounted one have it clear.
 */
public final class Ext4Superblock {
    /** The primary superblock's offset in the image. */
    static final int OFFSET = 1024;
    /** s_magic's offset in the superblock (little-endian 16 bits). */
    static final int MAGIC_AT = 0x38;
    static final int MAGIC = 0xEF53;
    /** s_feature_incompat's offset in the superblock (little-endian 32 bits). */
    static final int INCOMPAT_AT = 0x60;
    /** EXT3_FEATURE_INCOMPAT_RECOVER. */
    static final int INCOMPAT_RECOVER = 0x4;

    private Ext4Superblock() {
    }

    /**
     * Whether the ext2/3/4 file system in {@code image} (a raw image, not written meanwhile) needs journal recovery.
     *
     * @throws IOException if the image cannot be read or holds no ext2/3/4 superblock
     */
    public static boolean needsRecovery(Path image) throws IOException {
        ByteBuffer sb = ByteBuffer.allocate(INCOMPAT_AT + 4).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(image)) {
            while (sb.hasRemaining() && ch.read(sb, OFFSET + sb.position()) > 0) {
                // a file shorter than the superblock ends the loop
            }
        }
        if (sb.hasRemaining() || (sb.getShort(MAGIC_AT) & 0xffff) != MAGIC) {
            throw new IOException(image + " holds no ext2/3/4 file system (no superblock magic at byte "
                    + (OFFSET + MAGIC_AT) + ")");
        }
        return (sb.getInt(INCOMPAT_AT) & INCOMPAT_RECOVER) != 0;
    }
}
