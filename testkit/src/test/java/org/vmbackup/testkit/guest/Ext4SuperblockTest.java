package org.vmbackup.testkit.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Ext4SuperblockTest {
    @TempDir
    Path dir;

    /** An image with just a superblock: the magic and s_feature_incompat. */
    private Path image(int incompat) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(Ext4Superblock.OFFSET + Ext4Superblock.MAGIC_AT, (short) Ext4Superblock.MAGIC);
        b.putInt(Ext4Superblock.OFFSET + Ext4Superblock.INCOMPAT_AT, incompat);
        Path p = dir.resolve("fs-" + incompat + ".raw");
        Files.write(p, b.array());
        return p;
    }

    @Test
    void readsTheNeedsRecoveryFlagAmongTheOtherFeatures() throws Exception {
        // 0x2c2: filetype, extent, 64bit, flex_bg (what mke2fs -t ext4 sets); 0x4: needs_recovery
        assertThat(Ext4Superblock.needsRecovery(image(0x2c2))).isFalse();
        assertThat(Ext4Superblock.needsRecovery(image(0x2c2 | 0x4))).isTrue();
    }

    @Test
    void refusesWhatIsNotAnExtFileSystem() throws Exception {
        Path zeros = dir.resolve("zeros.raw");
        Files.write(zeros, new byte[4096]);
        assertThatThrownBy(() -> Ext4Superblock.needsRecovery(zeros)).isInstanceOf(IOException.class)
                .hasMessageContaining("no ext2/3/4 file system");
        Path shortFile = dir.resolve("short.raw");
        Files.write(shortFile, new byte[1100]);
        assertThatThrownBy(() -> Ext4Superblock.needsRecovery(shortFile)).isInstanceOf(IOException.class);
    }
}
