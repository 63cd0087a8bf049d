package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/**
 * {@code backup --store} chooses incremental copies by itself and says so per disk; {@code --full} forces a full
 * copy; {@code --full} without {@code --store} is a usage error.
 */
class IncrementalCommandIT {
    private static final Pattern SNAPSHOT = Pattern.compile("(?m)^snapshot (\\S+/\\S+)$");

    @RegisterExtension
    final StdCapture std = new StdCapture();

    @TempDir
    Path tmp;

    private String stdout() {
        return std.out.toString(StandardCharsets.UTF_8);
    }

    private String backUp(QemuProcess vm, Path store, String... extra) throws Exception {
        std.out.reset();
        std.err.reset();
        String[] args = {"backup", "--qmp", vm.qmpSocket().toString(), "--no-vmstate", "--store", store.toString(),
            "--vm", "app"};
        String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.Arrays.stream(extra))
                .toArray(String[]::new);
        assertThat(VmaBackupCli.execute(all)).as(stdout() + std.err).isEqualTo(ExitCode.OK);
        Matcher m = SNAPSHOT.matcher(stdout());
        assertThat(m.find()).as(stdout()).isTrue();
        Thread.sleep(1100); // snapshot ids are whole seconds
        return m.group(1);
    }

    @Test
    void theSecondBackupIsIncrementalAndFullForcesAFullCopy() throws Exception {
        byte[] disk = new byte[8 << 20];
        new Random(5).nextBytes(disk);
        Path store = tmp.resolve("store");
        assertThat(VmaBackupCli.execute("store", "init", store.toString())).isEqualTo(ExitCode.OK);
        try (QemuProcess vm = QemuProcess.system().args("-drive", "if=none,id=hd0,file={dir}/d0.raw,format=raw",
                "-device", "virtio-blk-pci,drive=hd0").start(dir -> Files.write(dir.resolve("d0.raw"), disk))) {
            String first = backUp(vm, store);
            assertThat(stdout()).contains("full: first backup of the VM into the store");
            try (RawQmp q = RawQmp.connect(vm.qmpSocket())) { // the CLI has disconnected: the monitor is free
                assertThat(q.execute("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
                        + "\"qemu-io hd0 \\\"write -P 0x33 1048576 65536\\\"\"}}")).doesNotContain("error");
            }
            backUp(vm, store);
            assertThat(stdout()).contains("incremental from " + first + "; sent by QEMU 64.0 KiB, new in the store");
            backUp(vm, store, "--full");
            assertThat(stdout()).contains("full: full copy requested; sent by QEMU 8.0 MiB");
        }
        std.err.reset();
        assertThat(VmaBackupCli.execute("backup", "--qmp", tmp.resolve("q.sock").toString(), "--full",
                tmp.resolve("a.vma").toString())).isEqualTo(ExitCode.USAGE);
        assertThat(std.err.toString(StandardCharsets.UTF_8)).contains("--full only applies with --store");
    }
}
