package org.vmbackup.qmp.agent;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;

/**
 * A scripted stand-in for qemu-ga on a unix socket: reads one request per line and writes whatever the script
 * returns for it (a string whose chars are bytes, so {@code "\u00ff"} is the 0xFF delimiter; {@code null} for
 * silence). One client at a time.
 */
final class FakeGuestAgent implements AutoCloseable {
    private final Path dir;
    private final Path socket;
    private final ServerSocketChannel server;
    private final Thread thread;
    private final List<JsonObject> requests = new CopyOnWriteArrayList<>();
    private volatile SocketChannel client;

    FakeGuestAgent(Function<JsonObject, String> script) throws IOException {
        dir = Files.createTempDirectory("vmbackup-fake-qga-");
        socket = dir.resolve("qga.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        thread = new Thread(() -> serve(script), "fake-qga");
        thread.setDaemon(true);
        thread.start();
    }

    /** The reply to a sync request as qemu-ga sends it: the delimiter, then the id. */
    static String syncReply(JsonObject request) {
        return "\u00ff{\"return\": " + request.require("arguments").require("id").asLong() + "}\n";
    }

    static boolean isSync(JsonObject request) {
        return request.require("execute").asString().equals("guest-sync-delimited");
    }

    Path socket() {
        return socket;
    }

    /** Every request received, in order. */
    List<JsonObject> requests() {
        return requests;
    }

    /** Drops the client's connection, as QEMU does when it exits. */
    void disconnect() throws IOException {
        SocketChannel c = client;
        if (c != null) {
            c.close();
        }
    }

    private void serve(Function<JsonObject, String> script) {
        try {
            while (server.isOpen()) {
                try (SocketChannel c = server.accept()) {
                    client = c;
                    BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c),
                            StandardCharsets.UTF_8));
                    OutputStream out = Channels.newOutputStream(c);
                    String line;
                    while ((line = in.readLine()) != null) {
                        JsonObject request = Json.parse(line).asObject();
                        requests.add(request);
                        String reply = script.apply(request);
                        if (reply != null) {
                            out.write(reply.getBytes(StandardCharsets.ISO_8859_1));
                            out.flush();
                        }
                    }
                } catch (IOException e) {
                    // the client went away; wait for the next one
                }
            }
        } catch (RuntimeException e) {
            // closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        disconnect();
        Files.deleteIfExists(socket);
        Files.deleteIfExists(dir);
    }
}
