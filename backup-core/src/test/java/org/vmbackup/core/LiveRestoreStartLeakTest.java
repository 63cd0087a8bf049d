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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@link LiveRestorePlan#start(Path)} that fails closes the QMP connection it opened, whatever failed: QEMU's QMP
 * socket serves one client at a time, so a connection left open keeps everyone else (the operator's {@code quit}, a
 * management stack) away from that QEMU for as long as the JVM lives.
 */
class LiveRestoreStartLeakTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    /**
     * A scripted QEMU monitor waiting for an incoming migration with one qcow2 disk {@code hd0} on {@code image}; it
     * answers every command, but nothing listens where {@code migrate-incoming} says (the VM state cannot be fed).
     * Completes {@code closed} when the client hangs up.
     */
    private static CompletableFuture<Void> fakeQemu(ServerSocketChannel server, Path image, long size) {
        CompletableFuture<Void> closed = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (SocketChannel ch = server.accept()) {
                OutputStream out = Channels.newOutputStream(ch);
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                        StandardCharsets.UTF_8));
                send(out, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 10}, "
                        + "\"package\": \"\"}, \"capabilities\": []}}");
                Pattern cmd = Pattern.compile("\"execute\"\\s*:\\s*\"([^\"]+)\"");
                Pattern id = Pattern.compile("\"id\"\\s*:\\s*(\"[^\"]*\"|\\d+)");
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    Matcher m = cmd.matcher(line);
                    Matcher i = id.matcher(line);
                    if (!m.find()) {
                        continue;
                    }
                    String ret = switch (m.group(1)) {
                        case "query-status" -> "{\"status\": \"inmigrate\", \"running\": false}";
                        case "query-block" -> "[{\"device\": \"hd0\", \"qdev\": \"d0\", \"removable\": false, "
                                + "\"inserted\": {\"node-name\": \"n0\", \"drv\": \"qcow2\", \"file\": \"" + image
                                + "\", \"ro\": false, \"image\": {\"virtual-size\": " + size + "}}}]";
                        default -> "{}";
                    };
                    send(out, "{\"return\": " + ret + (i.find() ? ", \"id\": " + i.group(1) : "") + "}");
                }
                closed.complete(null); // the client hung up
            } catch (IOException e) {
                closed.complete(null); // reset by the client: hung up too
            }
        }, "fake-qemu");
        t.setDaemon(true);
        t.start();
        return closed;
    }

    private static void send(OutputStream out, String json) throws IOException {
        out.write((json + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void aStartThatCannotFeedTheVmStateClosesItsQmpConnection() throws Exception {
        Path archive = tmp.resolve("a.vma");
        ArchiveSourceFixtures.write(ArchiveTarget.of(archive), new ArchiveSourceFixtures.Content(List.of("drive-hd0"),
                List.of(ArchiveSourceFixtures.random(MIB, 1)), List.of(), ArchiveSourceFixtures.random(64 << 10, 2)));
        LiveRestorePlan plan = LiveRestoreSession.builder().archive(archive).imageDirectory(tmp.resolve("images"))
                .socketDirectory(tmp.resolve("s")).build().prepare().get(1, TimeUnit.MINUTES);
        Path qmp = tmp.resolve("qmp.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(qmp));
            CompletableFuture<Void> hungUp = fakeQemu(server, plan.images().get("drive-hd0"), MIB);
            // the feed retries its connection for 10 s, then fails with an I/O error
            assertThatThrownBy(() -> plan.start(qmp).get(1, TimeUnit.MINUTES)).hasMessageContaining("migrate.sock");
            assertThat(hungUp).as("the QMP connection the start opened is closed").succeedsWithin(10,
                    TimeUnit.SECONDS);
        } finally {
            plan.close().get(1, TimeUnit.MINUTES);
        }
    }
}
