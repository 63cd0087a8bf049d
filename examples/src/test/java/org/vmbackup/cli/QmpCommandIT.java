package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.testkit.QemuProcess;

/** {@code vmabackup qmp} against a real QEMU. */
class QmpCommandIT {
    @RegisterExtension
    final StdCapture std = new StdCapture();
    private final ByteArrayOutputStream out = std.out;
    private final ByteArrayOutputStream err = std.err;

    private String stdout() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void printsTheReturnValueOrTheErrorClass() throws Exception {
        try (QemuProcess vm = QemuProcess.system().start()) {
            String sock = vm.qmpSocket().toString();
            assertThat(VmaBackupCli.execute("qmp", sock, "query-status")).isEqualTo(ExitCode.OK);
            Json status = Json.parse(stdout().strip());
            assertThat(status.get("status").asString()).isEqualTo("running");

            out.reset();
            assertThat(VmaBackupCli.execute("qmp", sock, "query-named-block-nodes", "{\"flat\": true}"))
                    .isEqualTo(ExitCode.OK);
            assertThat(Json.parse(stdout().strip()).elements()).isEmpty();

            assertThat(VmaBackupCli.execute("qmp", sock, "blockdev-del", "{\"node-name\": \"nope\"}"))
                    .isEqualTo(ExitCode.FAILED);
            assertThat(stderr().strip()).startsWith("GenericError: ").contains("nope");

            err.reset();
            assertThat(VmaBackupCli.execute("qmp", sock, "no-such-command")).isEqualTo(ExitCode.FAILED);
            assertThat(stderr().strip()).startsWith("CommandNotFound: ");

            assertThat(VmaBackupCli.execute("qmp", sock, "stop", "[1]")).isEqualTo(ExitCode.USAGE);
            assertThat(VmaBackupCli.execute("qmp", sock)).isEqualTo(ExitCode.USAGE);
        }
    }

    @Test
    void eventsArePrintedAsJsonLines() throws Exception {
        try (QemuProcess vm = QemuProcess.system().args("-qmp", "unix:{dir}/second.sock,server=on,wait=off").start()) {
            String listenOn = vm.dir().resolve("second.sock").toString();
            CompletableFuture<Integer> cli = CompletableFuture.supplyAsync(
                    () -> VmaBackupCli.execute("qmp", listenOn, "--events", "--count", "2"));
            // The CLI may not have subscribed yet: keep toggling until it has printed two events.
            try (QmpClient qmp = QmpClient.connect(vm.qmpSocket()).get(30, TimeUnit.SECONDS)) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!cli.isDone() && System.nanoTime() < deadline) {
                    qmp.execute("stop", null).get(30, TimeUnit.SECONDS);
                    qmp.execute("cont", null).get(30, TimeUnit.SECONDS);
                    Thread.sleep(100);
                }
            }
            assertThat(cli.get(30, TimeUnit.SECONDS)).isEqualTo(ExitCode.OK);
            String[] lines = stdout().strip().split("\n");
            assertThat(lines).hasSize(2);
            for (String line : lines) {
                Json e = Json.parse(line);
                assertThat(e.get("event").asString()).isIn("STOP", "RESUME");
                assertThat(e.get("timestamp").get("seconds").asLong()).isPositive();
            }
        }
    }
}
