package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.qmp.QmpClient;

/**
 * {@link LiveRestoreRun#cancel()} after one disk's background copy failed (what its documentation tells the caller to
 * do then) still cancels the copies of the other disks: they would otherwise run on in QEMU until the archive they
 * read from is closed under them.
 */
class LiveRestoreFailedCopyCancelTest {
    @TempDir
    Path tmp;

    /** A scripted QEMU running on the prepared images; {@code events} are sent to it when completed. */
    private static final class FakeQemu {
        final List<String> commands = new CopyOnWriteArrayList<>();
        volatile OutputStream out;
        /** A job id whose block-stream QEMU refuses, or null. */
        volatile String refuse;

        void serve(ServerSocketChannel server, Map<String, Path> images, Map<String, Long> sizes) {
            try (SocketChannel ch = server.accept()) {
                out = Channels.newOutputStream(ch);
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                        StandardCharsets.UTF_8));
                send("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 10}, "
                        + "\"package\": \"\"}, \"capabilities\": []}}");
                Pattern cmd = Pattern.compile("\"execute\"\\s*:\\s*\"([^\"]+)\"");
                // the command's own id comes last (job-cancel's arguments have an "id" too)
                Pattern id = Pattern.compile("\"id\"\\s*:\\s*(\"[^\"]*\"|\\d+)\\s*}\\s*$");
                String block = images.entrySet().stream().map(e -> "{\"device\": \"" + e.getKey().substring(6)
                        + "\", \"qdev\": \"\", \"removable\": false, \"inserted\": {\"node-name\": \"n-"
                        + e.getKey() + "\", \"drv\": \"qcow2\", \"file\": \"" + e.getValue() + "\", \"ro\": false, "
                        + "\"image\": {\"virtual-size\": " + sizes.get(e.getKey()) + "}}}")
                        .collect(Collectors.joining(", ", "[", "]"));
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    commands.add(line);
                    Matcher m = cmd.matcher(line);
                    Matcher i = id.matcher(line);
                    if (!m.find()) {
                        continue;
                    }
                    if (refuse != null && m.group(1).equals("block-stream") && line.contains("\"" + refuse + "\"")) {
                        send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Device is busy\"}"
                                + (i.find() ? ", \"id\": " + i.group(1) : "") + "}");
                        continue;
                    }
                    String ret = switch (m.group(1)) {
                        case "query-status" -> "{\"status\": \"running\", \"running\": true}";
                        case "query-block" -> block;
                        case "query-block-jobs" -> "[]";
                        default -> "{}";
                    };
                    send("{\"return\": " + ret + (i.find() ? ", \"id\": " + i.group(1) : "") + "}");
                }
            } catch (IOException e) {
                // the client hung up
            }
        }

        synchronized void send(String json) throws IOException {
            out.write((json + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void cancelAfterAFailedCopyCancelsTheOtherCopies() throws Exception {
        LiveRestorePlan plan = LiveRestoreSession.builder().archive(RestoreVectors.dir().resolve("two-disks.vma"))
                .imageDirectory(tmp.resolve("images")).socketDirectory(tmp.resolve("s")).build().prepare()
                .get(1, TimeUnit.MINUTES);
        Map<String, Long> sizes = plan.archiveIndexed().thenApply(v -> RestoreVectors.expected().get("two-disks.vma")
                .stream().collect(Collectors.toMap(RestoreVectors.Device::name, RestoreVectors.Device::size)))
                .get(1, TimeUnit.MINUTES);
        Path qmp = tmp.resolve("qmp.sock");
        FakeQemu qemu = new FakeQemu();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(qmp));
            Thread t = new Thread(() -> qemu.serve(server, plan.images(), sizes), "fake-qemu");
            t.setDaemon(true);
            t.start();
            try (QmpClient client = QmpClient.connect(qmp).get(30, TimeUnit.SECONDS)) {
                LiveRestoreRun run = plan.start(client).get(1, TimeUnit.MINUTES);
                qemu.send("{\"event\": \"BLOCK_JOB_COMPLETED\", \"data\": {\"type\": \"stream\", \"device\": "
                        + "\"restore-scsi0\", \"len\": 1589248, \"offset\": 65536, \"speed\": 0, \"error\": "
                        + "\"Input/output error\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}");
                CompletableFuture<LiveRestoreResult> done = run.completion();
                assertThatThrownBy(() -> done.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .hasMessageContaining("drive-scsi0");
                assertThat(run.cancel()).as("the other disks' copies were still running").isTrue();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!(cancelled(qemu, "restore-virtio1") && cancelled(qemu, "restore-efidisk0"))
                        && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(cancelled(qemu, "restore-virtio1")).as("copy of drive-virtio1 cancelled").isTrue();
                assertThat(cancelled(qemu, "restore-efidisk0")).as("copy of drive-efidisk0 cancelled").isTrue();
                assertThat(cancelled(qemu, "restore-scsi0")).as("the failed copy is over already").isFalse();
            }
        } finally {
            plan.close().get(1, TimeUnit.MINUTES);
        }
    }

    /**
     * The guest runs (on the archive) before the copies start: when QEMU refuses one, the start fails, and the copies
     * it already started must not run on without anyone watching them.
     */
    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void aStartWhoseCopyIsRefusedCancelsTheCopiesItStarted() throws Exception {
        LiveRestorePlan plan = LiveRestoreSession.builder().archive(RestoreVectors.dir().resolve("two-disks.vma"))
                .imageDirectory(tmp.resolve("images")).socketDirectory(tmp.resolve("s")).build().prepare()
                .get(1, TimeUnit.MINUTES);
        Map<String, Long> sizes = RestoreVectors.expected().get("two-disks.vma").stream()
                .collect(Collectors.toMap(RestoreVectors.Device::name, RestoreVectors.Device::size));
        Path qmp = tmp.resolve("qmp.sock");
        FakeQemu qemu = new FakeQemu();
        qemu.refuse = "restore-virtio1";
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(qmp));
            Thread t = new Thread(() -> qemu.serve(server, plan.images(), sizes), "fake-qemu");
            t.setDaemon(true);
            t.start();
            try (QmpClient client = QmpClient.connect(qmp).get(30, TimeUnit.SECONDS)) {
                assertThatThrownBy(() -> plan.start(client).get(1, TimeUnit.MINUTES))
                        .hasMessageContaining("Device is busy");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!cancelled(qemu, "restore-scsi0") && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(cancelled(qemu, "restore-scsi0")).as("the copy started before the refused one").isTrue();
                assertThat(qemu.commands).as("no copy started after the refused one")
                        .noneMatch(c -> c.contains("block-stream") && c.contains("restore-efidisk0"));
            }
        } finally {
            plan.close().get(1, TimeUnit.MINUTES);
        }
    }

    private static boolean cancelled(FakeQemu qemu, String job) {
        return qemu.commands.stream().anyMatch(c -> c.contains("job-cancel") && c.contains("\"" + job + "\""));
    }
}
