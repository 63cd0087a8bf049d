package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;
import org.vmbackup.testkit.RequiredTool;
import org.vmbackup.vma.VmaWriter;

/** The restore CLI forms and {@code nbd serve --archive} (and its old name {@code --vma}) against the real tools and QEMU. */
class RestoreCommandIT {
    private static final int SIZE = 2 << 20;

    @TempDir
    Path dir;
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream oldErr;
    private byte[] disk;
    private Path archive;
    private Path expected;

    @BeforeEach
    void setUp() throws Exception {
        oldErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        disk = new byte[SIZE];
        new Random(3).nextBytes(disk);
        Arrays.fill(disk, 0, 1 << 20, (byte) 0);
        archive = dir.resolve("vm.vma");
        try (VmaWriter w = VmaWriter.builder().disk("drive-hd0", SIZE).open(archive)) {
            w.write(w.device("drive-hd0"), 0, ByteBuffer.wrap(disk));
        }
        expected = dir.resolve("expected.raw");
        Files.write(expected, disk);
    }

    @AfterEach
    void tearDown() {
        System.setErr(oldErr);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void nbdServeVmaServesEveryDiskWithHoles() throws Exception {
        Path sock = dir.resolve("nbd.sock");
        AtomicInteger exit = new AtomicInteger(-1);
        Thread serve = new Thread(() -> exit.set(VmaBackupCli.execute("nbd", "serve", "--vma", archive.toString(),
                "--socket", sock.toString())));
        serve.start();
        try {
            for (int i = 0; i < 500 && !Files.exists(sock); i++) {
                Thread.sleep(20);
            }
            String uri = "nbd+unix:///drive-hd0?socket=" + sock;
            String list = RestoreToolRun.run(RequiredTool.NBDINFO.path().toString(), "--list", "--json",
                    "nbd+unix://?socket=" + sock);
            assertThat(list).contains("\"export-name\": \"drive-hd0\"").contains("\"is_read_only\": true");
            String map = RestoreToolRun.run(RequiredTool.NBDINFO.path().toString(), "--map", uri);
            assertThat(map).containsPattern("^\\s*0\\s+1048576\\s+3\\s+hole,zero")
                    .containsPattern("1048576\\s+1048576\\s+0\\s+data");
            assertThat(RestoreToolRun.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-f", "raw", "-F", "raw",
                    uri, expected.toString())).contains("Images are identical");
            Path copy = dir.resolve("copy.raw");
            RestoreToolRun.run(RequiredTool.NBDCOPY.path().toString(), uri, copy.toString());
            assertThat(Files.readAllBytes(copy)).isEqualTo(disk);
        } finally {
            serve.interrupt();
            serve.join(10_000);
        }
        assertThat(exit.get()).isEqualTo(ExitCode.INTERRUPTED);
        assertThat(stderr()).contains("serving export 'drive-hd0' (2097152 bytes, read-only)");
    }

    /** The same disk as a directory archive (what a backup to a name without .vma writes). */
    private Path directoryArchive() throws Exception {
        Path a = dir.resolve("vm-dir");
        org.vmbackup.core.ArchiveSink sink = org.vmbackup.core.ArchiveTarget.directory(a).open(
                new org.vmbackup.core.ArchiveLayout(java.util.UUID.randomUUID(), java.time.Instant.now(),
                        java.util.List.of(new org.vmbackup.core.ArchiveDisk("drive-hd0", SIZE)), 0,
                        java.util.List.of()));
        sink.writeZeroes(0, 0, 1 << 20);
        sink.write(0, 1 << 20, ByteBuffer.wrap(disk, 1 << 20, SIZE - (1 << 20)));
        sink.commit();
        return a;
    }

    @Test
    void aDirectoryArchiveRestoresAndIsServedByNbdServeArchive() throws Exception {
        Path a = directoryArchive();
        Path out = dir.resolve("out");
        assertThat(VmaBackupCli.execute("restore", a.toString(), "--to", out.toString())).as(stderr())
                .isEqualTo(ExitCode.OK);
        assertThat(Files.readAllBytes(out.resolve("drive-hd0.raw"))).isEqualTo(disk);
        Path sock = dir.resolve("dir.sock");
        AtomicInteger exit = new AtomicInteger(-1);
        Thread serve = new Thread(() -> exit.set(VmaBackupCli.execute("nbd", "serve", "--archive", a.toString(),
                "--socket", sock.toString(), "--no-warm-up")));
        serve.start();
        try {
            for (int i = 0; i < 500 && !Files.exists(sock); i++) {
                Thread.sleep(20);
            }
            String uri = "nbd+unix:///drive-hd0?socket=" + sock;
            assertThat(RestoreToolRun.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-f", "raw", "-F", "raw",
                    uri, expected.toString())).contains("Images are identical");
            assertThat(RestoreToolRun.run(RequiredTool.NBDINFO.path().toString(), "--map", uri))
                    .containsPattern("^\\s*0\\s+1048576\\s+3\\s+hole,zero");
        } finally {
            serve.interrupt();
            serve.join(10_000);
        }
        assertThat(exit.get()).isEqualTo(ExitCode.INTERRUPTED);
        assertThat(stderr()).contains("serving export 'drive-hd0' (2097152 bytes, read-only) of vm-dir");
    }

    @Test
    void nbdServeVmaOnATcpPort() throws Exception {
        AtomicInteger exit = new AtomicInteger(-1);
        Thread serve = new Thread(() -> exit.set(VmaBackupCli.execute("nbd", "serve", "--vma", archive.toString(),
                "--port", "0")));
        serve.start();
        try {
            java.util.regex.Pattern p = java.util.regex.Pattern.compile("on /127\\.0\\.0\\.1:(\\d+)");
            java.util.regex.Matcher m = p.matcher("");
            for (int i = 0; i < 500 && !(m = p.matcher(stderr())).find(); i++) {
                Thread.sleep(20);
            }
            assertThat(m.find(0)).as(stderr()).isTrue();
            String size = RestoreToolRun.run(RequiredTool.NBDINFO.path().toString(), "--size",
                    "nbd://127.0.0.1:" + m.group(1) + "/drive-hd0").strip();
            assertThat(Long.parseLong(size)).isEqualTo(SIZE);
        } finally {
            serve.interrupt();
            serve.join(10_000);
        }
        assertThat(exit.get()).isEqualTo(ExitCode.INTERRUPTED);
    }

    @Test
    void restoreToQcow2() throws Exception {
        Path out = dir.resolve("out");
        assertThat(VmaBackupCli.execute("restore", archive.toString(), "--to", out.toString(), "--format", "qcow2"))
                .as(stderr()).isEqualTo(ExitCode.OK);
        Path img = out.resolve("drive-hd0.qcow2");
        assertThat(RestoreToolRun.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-f", "qcow2", "-F", "raw",
                img.toString(), expected.toString())).contains("Images are identical");
    }

    @Test
    void restoreQmpRefusesADiskOnlyArchiveBeforeWriting() throws Exception {
        try (QemuProcess vm = QemuProcess.system().args("-drive", "if=none,id=hd0,file={dir}/t.raw,format=raw",
                "-device", "virtio-blk-pci,drive=hd0", "-incoming", "defer").start(d -> {
                    Files.write(d.resolve("t.raw"), new byte[SIZE]);
                })) {
            assertThat(VmaBackupCli.execute("restore", archive.toString(), "--qmp", vm.qmpSocket().toString()))
                    .isEqualTo(ExitCode.FAILED);
            assertThat(stderr()).contains("restore: the archive has no vmstate device");
            assertThat(Files.readAllBytes(vm.dir().resolve("t.raw"))).isEqualTo(new byte[SIZE]);
        }
    }

    @Test
    void liveRestoreRunsTheVmAndEndsOnLocalImages() throws Exception {
        Path images = dir.resolve("images");
        Path qmp = dir.resolve("live-qmp.sock");
        AtomicInteger exit = new AtomicInteger(-1);
        Thread cli = new Thread(() -> exit.set(VmaBackupCli.execute("restore", archive.toString(), "--live",
                images.toString(), "--qmp", qmp.toString(), "--wait", "60")));
        cli.start();
        Path img = images.resolve("drive-hd0.qcow2");
        for (int i = 0; i < 500 && !stderr().contains("Start QEMU with"); i++) {
            Thread.sleep(20);
        }
        assertThat(stderr()).contains("Start QEMU with: -drive if=none,id=hd0,file=" + img + ",format=qcow2");
        try (QemuProcess vm = QemuProcess.system().args("-drive", "if=none,id=hd0,file=" + img + ",format=qcow2",
                "-device", "virtio-blk-pci,drive=hd0", "-qmp", "unix:" + qmp + ",server=on,wait=off").start()) {
            cli.join(TimeUnit.SECONDS.toMillis(90));
            assertThat(exit.get()).as(stderr()).isEqualTo(ExitCode.OK);
            assertThat(stderr()).contains("Guest running after").contains("Live restore complete");
            try (RawQmp q = RawQmp.connect(vm.qmpSocket())) {
                assertThat(q.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
                assertThat(q.execute("{\"execute\":\"stop\"}")).contains("return");
            }
            assertThat(RestoreToolRun.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-U", "-f", "qcow2",
                    "-F", "raw", img.toString(), expected.toString())).contains("Images are identical");
        }
    }

    @Test
    void liveRestoreOfATruncatedArchiveFailsBeforeQemuConnectsAndLeavesNoImages() throws Exception {
        byte[] whole = Files.readAllBytes(archive);
        Path cut = dir.resolve("cut.vma");
        Files.write(cut, Arrays.copyOf(whole, whole.length - 4096));
        Path images = dir.resolve("cut-images");
        assertThat(VmaBackupCli.execute("restore", cut.toString(), "--live", images.toString(), "--qmp",
                dir.resolve("nobody.sock").toString(), "--wait", "60")).as(stderr()).isEqualTo(ExitCode.FAILED);
        assertThat(stderr()).contains("truncated").doesNotContain("Guest running");
        assertThat(images.resolve("drive-hd0.qcow2")).doesNotExist();
    }

    @Test
    void backupThenRestoreTheRunningVmThroughTheCli() throws Exception {
        byte[] pattern = new byte[1 << 20];
        new Random(4).nextBytes(pattern);
        Path zst = dir.resolve("vm.vma.zst");
        String[] disks = {"-drive", "if=none,id=hd0,file={dir}/d0.raw,format=raw", "-device", "virtio-blk-pci,drive=hd0"};
        try (QemuProcess src = QemuProcess.system().memoryMiB(512).args(concat(disks, "-device",
                "loader,file={dir}/p.bin,addr=0x10000000,force-raw=on")).start(d -> {
                    Files.write(d.resolve("d0.raw"), disk);
                    Files.write(d.resolve("p.bin"), pattern);
                })) {
            assertThat(VmaBackupCli.execute("backup", "--qmp", src.qmpSocket().toString(), zst.toString()))
                    .as(stderr()).isEqualTo(ExitCode.OK);
        }
        try (QemuProcess target = QemuProcess.system().memoryMiB(512).args(concat(disks, "-device",
                "loader,file={dir}/p.bin,addr=0x10000000,force-raw=on", "-incoming", "defer")).start(d -> {
                    Files.write(d.resolve("d0.raw"), new byte[SIZE]);
                    Files.write(d.resolve("p.bin"), new byte[1 << 20]);
                })) {
            assertThat(VmaBackupCli.execute("restore", zst.toString(), "--qmp", target.qmpSocket().toString()))
                    .as(stderr()).isEqualTo(ExitCode.OK);
            assertThat(stderr()).contains("Restored drive-hd0 -> ").contains("guest running");
            try (RawQmp q = RawQmp.connect(target.qmpSocket())) {
                assertThat(q.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
                Path mem = target.dir().resolve("mem.bin");
                assertThat(q.execute("{\"execute\":\"pmemsave\",\"arguments\":{\"val\":268435456,\"size\":"
                        + pattern.length + ",\"filename\":\"" + mem + "\"}}")).contains("return");
                assertThat(Files.readAllBytes(mem)).isEqualTo(pattern);
            }
            assertThat(Files.readAllBytes(target.dir().resolve("d0.raw"))).isEqualTo(disk);
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** Runs a tool; a non-zero exit fails the test with its output. */
    static final class RestoreToolRun {
        static String run(String... cmd) throws Exception {
            return ProcessRunner.command(cmd).mergeStderr().timeout(Duration.ofSeconds(120)).run().requireSuccess()
                    .stdout();
        }
    }
}
