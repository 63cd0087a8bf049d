package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RunningProcess;

/**
 * {@code kill -9} of {@code vmabackup backup --store} (the real jar) while it copies: no snapshot is listed, the
 * store verifies, the next backup into it works, and gc takes away what the killed backup left.
 */
class StoreKillIT {
    @TempDir
    Path tmp;

    private static ProcessResult cli(Path jar, String... args) throws Exception {
        String[] cmd = new String[args.length + 4];
        cmd[0] = "java";
        cmd[1] = "-Xmx256m";
        cmd[2] = "-jar";
        cmd[3] = jar.toString();
        System.arraycopy(args, 0, cmd, 4, args.length);
        return ProcessRunner.command(cmd).mergeStderr().timeout(Duration.ofSeconds(180)).run();
    }

    @Test
    void aBackupKilledWithSigkillLeavesAStoreThatVerifiesAndTakesTheNextBackup() throws Exception {
        Path jar = Path.of("target/vmabackup.jar").toAbsolutePath();
        assertThat(jar).as("built by the package phase").exists();
        byte[] chunk = new byte[1 << 20];
        Random r = new Random(9);
        Path store = tmp.resolve("store");
        assertThat(cli(jar, "store", "init", store.toString()).exitCode()).isEqualTo(ExitCode.OK);
        try (QemuProcess vm = QemuProcess.system().memoryMiB(256)
                .args("-drive", "if=none,id=hd0,file={dir}/d0.raw,format=raw", "-device", "virtio-blk-pci,drive=hd0")
                .start(dir -> {
                    try (FileChannel ch = FileChannel.open(dir.resolve("d0.raw"), StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE)) {
                        for (int i = 0; i < 64; i++) {
                            r.nextBytes(chunk);
                            ch.write(java.nio.ByteBuffer.wrap(chunk), (long) i << 20);
                        }
                    }
                })) {
            try (RunningProcess p = ProcessRunner.command("java", "-Xmx256m", "-jar", jar.toString(), "backup",
                    "--qmp", vm.qmpSocket().toString(), "--store", store.toString(), "--vm", "web1", "--bwlimit", "8M",
                    "--no-vmstate").mergeStderr().start()) {
                p.awaitLine(line -> line.matches("drive-hd0 \\[#{4,}.*"), Duration.ofSeconds(120)); // >= 20 % copied
                ProcessRunner.command("kill", "-KILL", Long.toString(p.pid())).run().requireSuccess();
                ProcessResult killed = p.await(Duration.ofSeconds(30));
                assertThat(killed.exitCode()).isEqualTo(128 + 9);
            }
            ProcessResult list = cli(jar, "store", "list", store.toString());
            assertThat(list.exitCode()).as(list.stdout()).isEqualTo(ExitCode.OK);
            assertThat(list.stdout()).doesNotContain("web1/");
            ProcessResult verify = cli(jar, "store", "verify", store.toString());
            assertThat(verify.exitCode()).as(verify.stdout()).isEqualTo(ExitCode.OK);

            ProcessResult again = cli(jar, "backup", "--qmp", vm.qmpSocket().toString(), "--store", store.toString(),
                    "--vm", "web1", "--no-vmstate");
            assertThat(again.exitCode()).as(again.stdout()).isEqualTo(ExitCode.OK);
            assertThat(again.stdout()).containsPattern("(?m)^snapshot web1/");
        }
        ProcessResult gc = cli(jar, "store", "gc", store.toString());
        assertThat(gc.exitCode()).as(gc.stdout()).isEqualTo(ExitCode.OK);
        ProcessResult verify = cli(jar, "store", "verify", store.toString());
        assertThat(verify.exitCode()).as(verify.stdout()).isEqualTo(ExitCode.OK);
        assertThat(verify.stdout()).contains("checked 1 snapshots");
    }
}
