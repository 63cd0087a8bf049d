package org.vmbackup.core.internal;

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
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.BackupException;
import org.vmbackup.nbd.backend.NullBackend;
import org.vmbackup.qmp.QmpClient;

/**
 * {@link BackupTargets}' undo covers a {@code blockdev-add} whose answer did not come in time: QEMU may still carry
 * it out (a monitor busy for longer than the command timeout), and the node it then has must be deleted by the
 * cleanup like any other of the session's.
 */
class BackupTargetsUndoTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void aBlockdevAddThatTimedOutIsStillUndone() throws Exception {
        Path sock = tmp.resolve("qmp.sock");
        List<String> commands = new CopyOnWriteArrayList<>();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            Thread peer = new Thread(() -> busyQemu(server, commands), "fake-qemu");
            peer.setDaemon(true);
            peer.start();
            try (QmpClient client = QmpClient.connect(sock).get(30, TimeUnit.SECONDS)) {
                QemuCalls q = new QemuCalls(client, Duration.ofMillis(500));
                Cleanup cleanup = new Cleanup();
                ArchiveLayout layout = new ArchiveLayout(UUID.randomUUID(), Instant.now(),
                        List.of(new ArchiveDisk("drive-hd0", 1 << 20)), 0, List.of());
                assertThatThrownBy(() -> BackupTargets.open(q, cleanup, new BackupTargets.Options("t1", null, 1,
                        s -> { }), layout, (i, d, exec) -> new NullBackend(d.size())))
                        .isInstanceOf(BackupException.class);
                cleanup.runAll();
                assertThat(commands).as("the node QEMU may have made is deleted")
                        .anyMatch(c -> c.contains("blockdev-del") && c.contains("vmbk-t1-t0"));
            }
        }
    }

    /** A QEMU whose monitor answers blockdev-add only after a second (too late), everything else at once. */
    private static void busyQemu(ServerSocketChannel server, List<String> commands) {
        try (SocketChannel ch = server.accept()) {
            OutputStream out = Channels.newOutputStream(ch);
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                    StandardCharsets.UTF_8));
            send(out, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 10}, "
                    + "\"package\": \"\"}, \"capabilities\": []}}");
            Pattern id = Pattern.compile("\"id\"\\s*:\\s*(\"[^\"]*\"|\\d+)");
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                commands.add(line);
                Matcher m = id.matcher(line);
                if (line.contains("blockdev-add")) {
                    Thread.sleep(1000);
                }
                send(out, "{\"return\": {}" + (m.find() ? ", \"id\": " + m.group(1) : "") + "}");
            }
        } catch (IOException | InterruptedException e) {
            // the client hung up
        }
    }

    private static void send(OutputStream out, String json) throws IOException {
        out.write((json + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
