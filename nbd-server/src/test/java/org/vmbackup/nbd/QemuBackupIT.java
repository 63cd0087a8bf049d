package org.vmbackup.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;
import org.vmbackup.testkit.RequiredTool;

/**
 * The backup path with the real peer: QEMU's blockdev-backup (sync=full) writes an image with random data and
 * holes into our memory export; qemu-img compare, qemu-img convert and nbdcopy then read it back identically.
 */
class QemuBackupIT {
    private static final long SIZE = 96L << 20;

    @TempDir
    Path dir;

    @Test
    void blockdevBackupIntoMemoryExportIsIdenticalAndReadsBack() throws Exception {
        Path socket = dir.resolve("nbd.sock");
        MemoryBackend store = new MemoryBackend(SIZE);
        try (NbdEventLoop loop = NbdEventLoop.create(2, true)) {
            NbdServer server = NbdServer.builder().unixSocket(socket).eventLoop(loop)
                    .export(NbdExport.of("backup", store)).build().start().get(10, TimeUnit.SECONDS);
            try (QemuProcess qsd = QemuProcess.storageDaemon().start(QemuBackupIT::writeSourceImage)) {
                Path src = qsd.dir().resolve("src.raw");
                try (RawQmp qmp = connectQmp(qsd.qmpSocket())) {
                    ok(qmp, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\",\"node-name\":\"src-file\","
                            + "\"filename\":\"" + src + "\"}}");
                    ok(qmp, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"raw\",\"node-name\":\"src\","
                            + "\"file\":\"src-file\"}}");
                    ok(qmp, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"nbd\",\"node-name\":\"tgt\","
                            + "\"server\":{\"type\":\"unix\",\"path\":\"" + socket + "\"},\"export\":\"backup\"}}");
                    ok(qmp, "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":\"bk\",\"device\":\"src\","
                            + "\"target\":\"tgt\",\"sync\":\"full\"}}");
                    String done = qmp.awaitLine("BLOCK_JOB_COMPLETED");
                    assertThat(done).doesNotContain("\"error\"");
                    ok(qmp, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"tgt\"}}");
                }
                NbdExportMetrics m = server.metrics("backup");
                assertThat(m.writes()).isPositive();
                assertThat(m.zeroes()).as("zero clusters become WRITE_ZEROES").isPositive();
                assertThat(m.bytesWritten() + m.bytesZeroed()).isEqualTo(SIZE);
                assertThat(m.flushes()).isPositive();
                assertThat(m.errors()).isZero();
                assertThat(store.allocatedBytes()).as("holes stay unallocated").isLessThan(SIZE);

                String uri = "nbd+unix:///backup?socket=" + socket;
                run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-f", "raw", "-F", "raw", src.toString(), uri);
                Path converted = dir.resolve("converted.raw");
                run(RequiredTool.QEMU_IMG.path().toString(), "convert", "-f", "raw", "-O", "raw", uri,
                        converted.toString());
                assertThat(mismatch(src, converted)).as("qemu-img convert copy").isEqualTo(-1L);
                Path copied = dir.resolve("nbdcopy.raw");
                run(RequiredTool.NBDCOPY.path().toString(), uri, copied.toString());
                assertThat(mismatch(src, copied)).as("nbdcopy copy").isEqualTo(-1L);
            } finally {
                server.close().get(10, TimeUnit.SECONDS);
            }
        }
    }

    /** 96 MiB: random runs of 64 KiB..3 MiB at random places, explicit zero runs, the rest a hole. */
    static void writeSourceImage(Path qemuDir) throws IOException {
        Random rnd = new Random(42);
        try (RandomAccessFile f = new RandomAccessFile(qemuDir.resolve("src.raw").toFile(), "rw")) {
            f.setLength(SIZE);
            for (int i = 0; i < 20; i++) {
                int len = (1 + rnd.nextInt(48)) * 65536;
                long off = (rnd.nextLong() & Long.MAX_VALUE) % (SIZE - len);
                byte[] data = new byte[len];
                rnd.nextBytes(data);
                f.seek(off);
                f.write(data);
            }
            f.seek(SIZE - 4096);
            byte[] tail = new byte[4096];
            rnd.nextBytes(tail);
            f.write(tail);
            f.seek(40L << 20);
            f.write(new byte[1 << 20]);
        }
    }

    /** The QMP socket file can appear a moment before QEMU listens on it (seen on a loaded machine): retry. */
    static RawQmp connectQmp(Path socket) throws IOException, InterruptedException {
        IOException last = null;
        for (int i = 0; i < 100; i++) {
            try {
                return RawQmp.connect(socket);
            } catch (IOException e) {
                last = e;
                Thread.sleep(50);
            }
        }
        throw last;
    }

    private static void ok(RawQmp qmp, String json) throws IOException {
        String reply = qmp.execute(json);
        assertThat(reply).as(json).contains("\"return\"");
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        return ProcessRunner.command(cmd).mergeStderr().timeout(Duration.ofSeconds(120)).run().requireSuccess()
                .stdout();
    }

    static long mismatch(Path a, Path b) throws IOException {
        return Files.mismatch(a, b);
    }

    static List<String> list(String... s) {
        return new ArrayList<>(List.of(s));
    }
}
