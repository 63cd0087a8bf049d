package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.vma.VmaWriter;

class RestoreCommandTest {
    @TempDir
    Path dir;
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream oldErr;
    private byte[] a;
    private byte[] b;
    private Path archive;

    @BeforeEach
    void setUp() throws Exception {
        oldErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        Random r = new Random(5);
        a = new byte[1_589_248];
        b = new byte[2 << 20];
        r.nextBytes(a);
        r.nextBytes(b);
        Arrays.fill(a, 65536, 500_000, (byte) 0);
        archive = dir.resolve("vm.vma");
        try (VmaWriter w = VmaWriter.builder().disk("drive-scsi0", a.length).disk("drive-virtio1", b.length)
                .open(archive)) {
            w.write(w.device("drive-scsi0"), 0, ByteBuffer.wrap(a));
            w.write(w.device("drive-virtio1"), 0, ByteBuffer.wrap(b));
        }
    }

    @AfterEach
    void tearDown() {
        System.setErr(oldErr);
    }

    @Test
    void restoresDisksIntoADirectory() throws Exception {
        Path out = dir.resolve("out");
        assertThat(VmaBackupCli.execute("restore", archive.toString(), "--to", out.toString()))
                .as(err.toString(StandardCharsets.UTF_8)).isEqualTo(ExitCode.OK);
        assertThat(Files.readAllBytes(out.resolve("drive-scsi0.raw"))).isEqualTo(a);
        assertThat(Files.readAllBytes(out.resolve("drive-virtio1.raw"))).isEqualTo(b);
        String log = err.toString(StandardCharsets.UTF_8);
        assertThat(log).contains("Finished device drive-scsi0").contains("Restore complete: 2 disk(s)");
    }

    @Test
    void onlyTheChosenDisk() throws Exception {
        Path out = dir.resolve("one");
        assertThat(VmaBackupCli.execute("restore", archive.toString(), "--to", out.toString(), "--disk",
                "drive-virtio1")).isEqualTo(ExitCode.OK);
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("drive-virtio1.raw");
        }
    }

    @Test
    void corruptArchiveFailsWithTheFormatMessageAndNoImages() throws Exception {
        byte[] whole = Files.readAllBytes(archive);
        Path cut = dir.resolve("cut.vma");
        Files.write(cut, Arrays.copyOf(whole, whole.length - 100_000));
        Path out = dir.resolve("bad");
        assertThat(VmaBackupCli.execute("restore", cut.toString(), "--to", out.toString()))
                .isEqualTo(ExitCode.FAILED);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("restore: offset").contains("truncated");
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s).isEmpty();
        }
    }

    @Test
    void bwlimitHoldsTheRestoreToTheRate() throws Exception {
        Path out = dir.resolve("slow");
        // a's 106 zero blocks are holes: 3 252 224 data bytes at 2 MiB/s are 1.55 s, less a 100 ms burst
        long t0 = System.nanoTime();
        assertThat(VmaBackupCli.execute("restore", archive.toString(), "--to", out.toString(), "--bwlimit", "2M"))
                .as(err.toString(StandardCharsets.UTF_8)).isEqualTo(ExitCode.OK);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ms).isGreaterThanOrEqualTo(1250);
        assertThat(Files.readAllBytes(out.resolve("drive-scsi0.raw"))).isEqualTo(a);
        assertThat(Files.readAllBytes(out.resolve("drive-virtio1.raw"))).isEqualTo(b);
    }

    @Test
    void aBadBwlimitIsAUsageErrorNamingTheValueAndWritesNothing() throws Exception {
        for (String bad : new String[] {"12X", "-1", "10MB", "99999999999G"}) {
            err.reset();
            Path out = dir.resolve("never");
            assertThat(VmaBackupCli.execute("restore", archive.toString(), "--to", out.toString(), "--bwlimit", bad))
                    .isEqualTo(ExitCode.USAGE);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("--bwlimit").contains("'" + bad + "'")
                    .doesNotContain("Exception");
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void usageErrors() {
        assertThat(VmaBackupCli.execute("restore", archive.toString())).isEqualTo(ExitCode.USAGE);
        assertThat(VmaBackupCli.execute("restore", archive.toString(), "--to", "x", "--qmp", "y"))
                .isEqualTo(ExitCode.USAGE);
        assertThat(VmaBackupCli.execute("restore", archive.toString(), "--to", dir.resolve("f").toString(),
                "--format", "vmdk")).isEqualTo(ExitCode.USAGE);
        assertThat(VmaBackupCli.execute("restore", archive.toString(), "--qmp", "y", "--disk", "d"))
                .isEqualTo(ExitCode.USAGE);
    }
}
