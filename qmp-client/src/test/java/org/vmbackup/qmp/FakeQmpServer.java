package org.vmbackup.qmp;

import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A scripted QMP peer for unit tests: the test thread accepts the client, sends exactly the bytes it wants
 * (greeting, replies, events, garbage) and reads the commands the client sent, one per line.
 */
final class FakeQmpServer implements AutoCloseable {
    static final String GREETING_OOB = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
            + "\"major\": 7}, \"package\": \"v7.2.0\"}, \"capabilities\": [\"oob\"]}}\r\n";
    static final String GREETING_NO_OOB = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
            + "\"major\": 7}, \"package\": \"pve\"}, \"capabilities\": []}}\r\n";

    private final Path dir;
    private final Path socket;
    private final ServerSocketChannel server;
    private SocketChannel client;
    private java.io.InputStream in;
    private OutputStream out;

    FakeQmpServer() throws IOException {
        this(Files.createTempDirectory("fake-qmp-").resolve("qmp.sock"));
    }

    private FakeQmpServer(Path socket) throws IOException {
        this.dir = socket.getParent();
        this.socket = socket;
        Files.createDirectories(dir);
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    private FakeQmpServer(ServerSocketChannel tcp) {
        this.dir = null;
        this.socket = null;
        this.server = tcp;
    }

    /** A server on a TCP port of the loopback interface. */
    static FakeQmpServer tcp() throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open();
        ch.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0));
        return new FakeQmpServer(ch);
    }

    /** Where clients connect. */
    java.net.SocketAddress address() throws IOException {
        return socket != null ? UnixDomainSocketAddress.of(socket) : server.getLocalAddress();
    }

    /** A server on a given path (to appear after a client started connecting). */
    static FakeQmpServer at(Path socket) throws IOException {
        return new FakeQmpServer(socket);
    }

    Path socket() {
        return socket;
    }

    /** Accepts the client (blocks until it connects). */
    FakeQmpServer accept() throws IOException {
        client = server.accept();
        in = new java.io.BufferedInputStream(Channels.newInputStream(client));
        out = Channels.newOutputStream(client);
        return this;
    }

    /** Sends raw text. */
    void send(String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Sends raw bytes. */
    void sendBytes(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** Reads the bytes up to and excluding the next newline. */
    byte[] readLineBytes() throws IOException {
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != '\n') {
            if (b < 0) {
                throw new IOException("client closed the connection");
            }
            line.write(b);
        }
        return line.toByteArray();
    }

    /** Reads the next command the client sent. */
    JsonObject readCommand() throws IOException {
        return Json.parse(new String(readLineBytes(), StandardCharsets.UTF_8)).asObject();
    }

    /** Sends {@code {"return": value, "id": id}}. */
    void reply(JsonObject command, String returnJson) throws IOException {
        send("{\"return\": " + returnJson + ", \"id\": " + command.get("id").toJson() + "}\r\n");
    }

    /** Sends an error reply. */
    void error(JsonObject command, String errorClass, String desc) throws IOException {
        send("{\"error\": {\"class\": \"" + errorClass + "\", \"desc\": \"" + desc + "\"}, \"id\": "
                + command.get("id").toJson() + "}\r\n");
    }

    /** Sends an event. */
    void event(String name, String dataJson) throws IOException {
        send("{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 250000}, \"event\": \"" + name + "\""
                + (dataJson == null ? "" : ", \"data\": " + dataJson) + "}\r\n");
    }

    /** Sends the greeting and answers qmp_capabilities; returns the negotiation command. */
    JsonObject handshake(String greeting) throws IOException {
        send(greeting);
        JsonObject caps = readCommand();
        reply(caps, "{}");
        return caps;
    }

    /** Closes the client's connection. */
    void disconnect() throws IOException {
        client.close();
    }

    @Override
    public void close() throws IOException {
        if (client != null) {
            client.close();
        }
        server.close();
        if (socket != null) {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    static QmpClient connect(FakeQmpServer server, QmpClientOptions options, String greeting) throws Exception {
        var future = QmpClient.connect(server.socket(), options);
        server.accept();
        server.handshake(greeting);
        return future.get(10, TimeUnit.SECONDS);
    }
}
