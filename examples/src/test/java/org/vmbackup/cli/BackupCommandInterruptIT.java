package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;
import org.vmbackup.testkit.RunningProcess;

/**
 * SIGINT (Ctrl-C) or SIGTERM (a service manager, a script's kill) during {@code vmabackup backup} (the real jar):
 * exit 130 / 143, no archive, the guest running, QEMU clean.
 */
class BackupCommandInterruptIT {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"INT, 130", "TERM, 143"})
    void aSignalCancelsCleanly(String signal, int exitCode) throws Exception {
        Path jar = Path.of("target/vmabackup.jar").toAbsolutePath();
        assertThat(jar).as("built by the package phase").exists();
        byte[] chunk = new byte[1 << 20];
        new Random(3).nextBytes(chunk);
        try (QemuProcess vm = QemuProcess.system().memoryMiB(256)
                .args("-drive", "if=none,id=hd0,file={dir}/d0.raw,format=raw", "-device", "virtio-blk-pci,drive=hd0",
                        "-qmp", "unix:{dir}/check.sock,server=on,wait=off")
                .start(dir -> {
                    try (FileChannel ch = FileChannel.open(dir.resolve("d0.raw"), StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE)) {
                        for (int i = 0; i < 256; i++) { // 256 MiB of data at 16 MiB/s (below): 16 s of copying
                            ch.write(java.nio.ByteBuffer.wrap(chunk), (long) i << 20);
                        }
                    }
                })) {
            Path archive = tmp.resolve("vm.vma");
            ProcessResult r;
            // SIGINT back to its default first: a test run started in the background by a non-interactive shell
            // inherits it ignored (POSIX), and a JVM leaves an ignored SIGINT ignored, as nohup expects
            try (RunningProcess p = ProcessRunner.command("env", "--default-signal=INT", "java", "-Xmx256m", "-jar",
                    jar.toString(), "backup",
                    // throttled, so that the copy is surely still running when the signal arrives
                    "--bwlimit", "16M", "--qmp", vm.qmpSocket().toString(), archive.toString()).mergeStderr().start()) {
                p.awaitLine(line -> line.startsWith("drive-hd0 ["), Duration.ofSeconds(120)); // copying
                ProcessRunner.command("kill", "-" + signal, Long.toString(p.pid())).run().requireSuccess();
                r = p.await(Duration.ofSeconds(90));
            }
            assertThat(r.exitCode()).as(r.stdout()).isEqualTo(exitCode);
            assertThat(r.stdout()).doesNotContain("Backup complete");
            try (var s = Files.list(tmp)) {
                assertThat(s.toList()).as("no archive, no temporary file").isEmpty();
            }
            try (RawQmp c = RawQmp.connect(vm.dir().resolve("check.sock"))) {
                assertThat(c.execute("{\"execute\":\"query-status\"}")).contains("\"running\": true");
                assertThat(c.execute("{\"execute\":\"query-jobs\"}")).isEqualTo("{\"return\": []}");
                assertThat(c.execute("{\"execute\":\"query-named-block-nodes\",\"arguments\":{\"flat\":true}}"))
                        .doesNotContain("vmbk-");
                assertThat(c.execute("{\"execute\":\"query-migrate-capabilities\"}"))
                        .contains("{\"state\": false, \"capability\": \"background-snapshot\"}");
            }
        }
    }
}
