package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.QemuProcess;

/** {@code vmabackup backup} against a real QEMU, then {@code vmabackup vma verify} of the result. */
class BackupCommandIT {
    @RegisterExtension
    final StdCapture std = new StdCapture();
    private final ByteArrayOutputStream out = std.out;
    private final ByteArrayOutputStream err = std.err;

    @TempDir
    Path tmp;

    @Test
    void backsUpAVmPrintsProgressAndTheArchiveVerifies() throws Exception {
        byte[] disk = new byte[6 << 20];
        new Random(5).nextBytes(disk);
        Path conf = Files.writeString(tmp.resolve("qemu-server.conf"), "memory: 128\n");
        try (QemuProcess vm = QemuProcess.system().args("-drive", "if=none,id=hd0,file={dir}/d0.raw,format=raw",
                "-device", "virtio-blk-pci,drive=hd0").start(dir -> Files.write(dir.resolve("d0.raw"), disk))) {
            Path archive = tmp.resolve("vm.vma.zst");
            int code = VmaBackupCli.execute("backup", "--qmp", vm.qmpSocket().toString(), "-c", conf.toString(),
                    archive.toString());
            String stdout = out.toString(StandardCharsets.UTF_8);
            assertThat(code).as(stdout + err.toString(StandardCharsets.UTF_8)).isEqualTo(ExitCode.OK);
            assertThat(stdout).contains("Running migration...").contains("Finished device drive-hd0")
                    .contains("Backup complete: " + archive).contains("drive-hd0 (hd0): 6.0 MiB")
                    .containsPattern("guest pause \\d+ ms").containsPattern("drive-hd0 \\[#{20}\\] 100%");
            assertThat(archive).exists();

            out.reset();
            assertThat(VmaBackupCli.execute("vma", "verify", "-v", archive.toString())).isEqualTo(ExitCode.OK);
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("drive-hd0").contains("VMSTATE")
                    .contains("qemu-server.conf").contains("vm.json");

            err.reset();
            assertThat(VmaBackupCli.execute("backup", "--qmp", vm.qmpSocket().toString(), "--disk", "nope",
                    tmp.resolve("x.vma").toString())).isEqualTo(ExitCode.FAILED);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("no disk named nope");
            assertThat(tmp.resolve("x.vma")).doesNotExist();

            // this VM has no guest agent channel: --fs-freeze fails in one line, --fs-freeze=try says what it did
            err.reset();
            assertThat(VmaBackupCli.execute("backup", "--qmp", vm.qmpSocket().toString(), "--fs-freeze",
                    tmp.resolve("f.vma").toString())).isEqualTo(ExitCode.FAILED);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("cannot freeze the guest's file systems")
                    .contains("no guest agent channel").contains("nothing was done to the guest");
            assertThat(tmp.resolve("f.vma")).doesNotExist();
            out.reset();
            assertThat(VmaBackupCli.execute("backup", "--qmp", vm.qmpSocket().toString(), "--fs-freeze=try",
                    "--no-vmstate", tmp.resolve("t.vma").toString())).isEqualTo(ExitCode.OK);
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("NOT quiesced, crash-consistent: the VM has "
                    + "no guest agent channel").doesNotContain("file systems frozen");
        }
    }

    @Test
    void missingQmpOptionIsAUsageError() {
        assertThat(VmaBackupCli.execute("backup", tmp.resolve("a.vma").toString())).isEqualTo(ExitCode.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--qmp");
    }
}
