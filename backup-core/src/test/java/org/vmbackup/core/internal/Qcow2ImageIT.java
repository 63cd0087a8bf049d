package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.RequiredTool;

/**
 * The qcow2 images the restore writes itself ({@link RestoreImageFile#createQcow2}), read by QEMU's own tools: runs
 * written in random order at unaligned offsets and lengths (overlapping, as a later run may rewrite part of a
 * cluster) give an image that {@code qemu-img check} finds clean, that {@code qemu-img compare} finds equal to the
 * raw image written from the same runs, and whose allocated clusters ({@code qemu-img map}) are exactly those the
 * runs touched: holes stay unallocated. The sizes cover one partial cluster, several L2 tables (one per 512 MiB), and
 * data past 2 GiB (a second refcount block) with a partial last cluster and sector (QEMU sees qcow2 sizes in whole
 * sectors: the image is rounded up, like qemu-img convert's).
 */
class Qcow2ImageIT {
    private static final int CLUSTER = 64 << 10;
    private static final Pattern MAP_ENTRY = Pattern.compile(
            "\"start\": (\\d+), \"length\": (\\d+),.*?\"data\": (true|false)");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "1048576, 40, 2", "1610612736, 300, 3", "3221237777, 200, 4"})
    void qemuImgReadsTheImageAsTheRawOne(long size, int runs, long seed) throws Exception {
        ArchiveDisk disk = new ArchiveDisk("drive-hd0", size);
        Path raw = tmp.resolve("d.raw");
        Path qcow2 = tmp.resolve("d.qcow2");
        BitSet touched = new BitSet();
        Random r = new Random(seed);
        try (RestoreImageFile a = RestoreImageFile.create(disk, tmp.resolve("d.raw.part"), raw);
                RestoreImageFile b = RestoreImageFile.createQcow2(disk, tmp.resolve("d.qcow2.part"), qcow2)) {
            for (int i = 0; i < runs; i++) {
                int len = (int) Math.min(size, 1 + r.nextInt(300 << 10));
                // a third of the runs at the end of the disk, so the partial last cluster is written
                long offset = i % 3 == 0 ? size - len : (long) (r.nextDouble() * (size - len + 1));
                byte[] bytes = new byte[len];
                r.nextBytes(bytes);
                a.write(offset, ByteBuffer.wrap(bytes));
                b.write(offset, ByteBuffer.wrap(bytes));
                touched.set((int) (offset / CLUSTER), (int) ((offset + len - 1) / CLUSTER) + 1);
            }
            a.commit();
            b.commit();
        }
        assertThat(Files.exists(tmp.resolve("d.qcow2.part"))).as("temporary name gone").isFalse();

        String check = qemuImg("check", "-f", "qcow2", qcow2.toString());
        assertThat(check).contains("No errors were found");
        assertThat(check).doesNotContain("leaked");
        assertThat(qemuImg("compare", "-f", "qcow2", "-F", "raw", qcow2.toString(), raw.toString()))
                .contains("Images are identical");
        assertThat(qemuImg("info", qcow2.toString())).contains("file format: qcow2")
                // whole sectors, as qemu-img convert rounds
                .contains("virtual size: ").contains("(" + (size + 511) / 512 * 512 + " bytes)");

        BitSet allocated = new BitSet();
        Matcher m = MAP_ENTRY.matcher(qemuImg("map", "--output=json", "-f", "qcow2", qcow2.toString()));
        while (m.find()) {
            if (m.group(3).equals("true")) {
                long start = Long.parseLong(m.group(1));
                long end = start + Long.parseLong(m.group(2));
                allocated.set((int) (start / CLUSTER), (int) ((end + CLUSTER - 1) / CLUSTER));
            }
        }
        assertThat(allocated).as("allocated clusters: exactly those written").isEqualTo(touched);
    }

    private static String qemuImg(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = RequiredTool.QEMU_IMG.path().toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        ProcessResult p = ProcessRunner.command(cmd).mergeStderr().timeout(Duration.ofMinutes(2)).run();
        assertThat(p.exitCode()).as(String.join(" ", cmd) + ": " + p.stdout()).isZero();
        return p.stdout();
    }
}
