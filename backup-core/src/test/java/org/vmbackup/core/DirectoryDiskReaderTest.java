package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Extents packed several to a buffer and cut where a buffer is full still come out as every byte of the disk, in
 * offset order, each byte once, all-zero blocks inside extents as zero runs.
 */
class DirectoryDiskReaderTest {
    private static final int DISK = 2;

    @TempDir
    Path dir;

    /** Rebuilds the disk from the runs and checks they arrive in order without gaps or overlaps. */
    private static final class Collector implements ArchiveVisitor {
        final byte[] disk;
        long covered;
        long dataBytes;
        int zeroRuns;

        Collector(int size) {
            disk = new byte[size];
        }

        @Override
        public void data(int d, long offset, ByteBuffer data) {
            assertThat(d).isEqualTo(DISK);
            assertThat(offset).isEqualTo(covered);
            dataBytes += data.remaining();
            int n = data.remaining();
            data.get(disk, (int) offset, n);
            covered += n;
        }

        @Override
        public void zero(int d, long offset, long length) {
            assertThat(d).isEqualTo(DISK);
            assertThat(offset).isEqualTo(covered);
            assertThat(length).isPositive();
            zeroRuns++;
            covered += length;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
        for (long at = pos; dst.hasRemaining(); ) {
            int r = ch.read(dst, at);
            if (r < 0) {
                throw new IOException("ends at " + at);
            }
            at += r;
        }
    }

    @Test
    void manySmallAndSomeLargeExtentsComeOutAsTheDisk() throws IOException {
        int size = 48 << 20;
        byte[] image = new byte[size];
        Random r = new Random(7);
        List<long[]> extents = new ArrayList<>();
        int at = 4096;
        while (at < size) {
            // a few extents larger than a buffer, most a few KiB to a few hundred KiB, some not block-aligned
            int len = r.nextInt(10) == 0 ? DirectoryDiskReader.BUFFER + r.nextInt(1 << 20) : 1 + r.nextInt(300_000);
            len = Math.min(len, size - at);
            byte[] data = new byte[len];
            r.nextBytes(data);
            if (len > 3 * 4096) {
                java.util.Arrays.fill(data, 4096, 3 * 4096, (byte) 0); // zero blocks inside an extent
            }
            System.arraycopy(data, 0, image, at, len);
            extents.add(new long[] {at, len});
            at += len + 4096 * r.nextInt(64);
        }
        Path f = dir.resolve("disk.raw");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(image));
        }
        Collector c = new Collector(size);
        try (DirectoryDiskReader reader = new DirectoryDiskReader();
                FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            reader.copy(ch, extents, size, DISK, c, DirectoryDiskReaderTest::readFully);
            assertThat(reader.bytesRead()).isEqualTo(extents.stream().mapToLong(e -> e[1]).sum());
        }
        assertThat(c.covered).isEqualTo(size);
        assertThat(c.disk).isEqualTo(image);
        assertThat(c.dataBytes).as("zero blocks inside extents are not data").isLessThan(c.disk.length);
    }

    @Test
    void noExtentsIsOneZeroRun() throws IOException {
        Path f = dir.resolve("empty.raw");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(1 << 20);
        }
        Collector c = new Collector(1 << 20);
        try (DirectoryDiskReader reader = new DirectoryDiskReader();
                FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            reader.copy(ch, List.of(), 1 << 20, DISK, c, DirectoryDiskReaderTest::readFully);
        }
        assertThat(c.covered).isEqualTo(1 << 20);
        assertThat(c.zeroRuns).isEqualTo(1);
    }

    @Test
    void aShortFileFailsTheCopy() throws IOException {
        Path f = dir.resolve("short.raw");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
        }
        try (DirectoryDiskReader reader = new DirectoryDiskReader();
                FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            assertThatThrownBy(() -> reader.copy(ch, List.<long[]>of(new long[] {0, 8192}), 8192, DISK,
                    new Collector(8192), DirectoryDiskReaderTest::readFully)).isInstanceOf(IOException.class)
                    .hasMessageContaining("ends at 3");
        }
    }
}
