package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The directory archive's read skips the file system's holes (qemu-img map) and still returns every byte. */
class DirectoryArchiveHolesTest {
    @TempDir
    Path dir;

    private static boolean hasQemuImg() {
        try {
            return new ProcessBuilder("qemu-img", "--version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void dataExtentsCoverTheDataAndLeaveOutTheHoles() throws IOException {
        assumeTrue(hasQemuImg(), "qemu-img not on PATH");
        Path f = dir.resolve("disk.raw");
        long size = 64L << 20;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(random(8192, 1)), 1 << 20);
            ch.write(ByteBuffer.wrap(random(1 << 20, 2)), 40L << 20);
            ch.truncate(size);
            ch.write(ByteBuffer.allocate(1), size - 1);
        }
        List<long[]> ext = RawDataExtents.of(f, size);
        long total = ext.stream().mapToLong(e -> e[1]).sum();
        assertThat(total).as("bytes the read will look at").isLessThan(8L << 20);
        assertThat(covered(ext, 1 << 20, 8192)).isTrue();
        assertThat(covered(ext, 40L << 20, 1 << 20)).isTrue();
        assertThat(covered(ext, size - 1, 1)).isTrue();
    }

    @Test
    void aFileQemuImgCannotMapIsReadWhole() {
        List<long[]> ext = RawDataExtents.of(dir.resolve("missing.raw"), 12345);
        assertThat(ext).hasSize(1);
        assertThat(ext.get(0)).containsExactly(0, 12345);
    }

    private static boolean covered(List<long[]> ext, long off, long len) {
        for (long[] e : ext) {
            if (e[0] <= off && off + len <= e[0] + e[1]) {
                return true;
            }
        }
        return false;
    }
}
