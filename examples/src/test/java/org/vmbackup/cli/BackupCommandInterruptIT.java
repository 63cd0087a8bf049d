package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/** SIGINT during {@code vmabackup backup} (the real jar): exit 130, no archive, the guest running, QEMU clean. */
class BackupCommandInterruptIT {
    @TempDir
    Path tmp;

    @Test
    void sigintCancelsCleanly() throws Exception {
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
                        for (int i = 0; i < 1024; i++) { // 1 GiB of data: the backup takes a while
                            ch.write(java.nio.ByteBuffer.wrap(chunk), (long) i << 20);
                        }
                    }
                })) {
            Path archive = tmp.resolve("vm.vma");
            Process p = new ProcessBuilder("java", "-Xmx256m", "-jar", jar.toString(), "backup", "--qmp",
                    vm.qmpSocket().toString(), archive.toString()).redirectErrorStream(true).start();
            StringBuilder out = new StringBuilder();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    out.append(line).append('\n');
                    if (line.startsWith("drive-hd0 [")) { // copying
                        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
                        break;
                    }
                }
                assertThat(p.waitFor(90, TimeUnit.SECONDS)).as(out.toString()).isTrue();
                r.lines().forEach(l -> out.append(l).append('\n'));
            }
            assertThat(p.exitValue()).as(out.toString()).isEqualTo(ExitCode.INTERRUPTED);
            assertThat(out.toString()).doesNotContain("Backup complete");
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
