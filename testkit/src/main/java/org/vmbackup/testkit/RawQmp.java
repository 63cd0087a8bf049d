package org.vmbackup.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A deliberately minimal, blocking, line-based QMP peer for tests of modules that must not depend on the
 * real client (the NBD server's ITs drive a backup job with it) and for checking the real client itself.
 *
 * <p>QEMU writes one JSON value per line, which is all this relies on. Events seen while waiting for a reply
 * are kept in {@link #events()}.
 */
public final class RawQmp implements AutoCloseable {
    private final SocketChannel channel;
    private final BufferedReader in;
    private final String greeting;
    private final List<String> events = new ArrayList<>();

    private RawQmp(SocketChannel channel) throws IOException {
        this.channel = channel;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        this.greeting = in.readLine();
        if (greeting == null || !greeting.contains("\"QMP\"")) {
            throw new IOException("no QMP greeting, got: " + greeting);
        }
    }

    /** Connects, reads the greeting, but does not negotiate capabilities. */
    public static RawQmp connectNoNegotiate(java.nio.file.Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return new RawQmp(ch);
    }

    /** Connects, reads the greeting and sends {@code qmp_capabilities}. */
    public static RawQmp connect(java.nio.file.Path socket) throws IOException {
        RawQmp qmp = connectNoNegotiate(socket);
        String reply = qmp.execute("{\"execute\":\"qmp_capabilities\"}");
        if (!reply.contains("\"return\"")) {
            qmp.close();
            throw new IOException("qmp_capabilities refused: " + reply);
        }
        return qmp;
    }

    /** The greeting line QEMU sent on connect. */
    public String greeting() {
        return greeting;
    }

    /** Sends one command (a JSON object) and returns the next non-event line: its reply. */
    public String execute(String json) throws IOException {
        byte[] bytes = (json + "\n").getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("QMP connection closed while waiting for the reply to " + json);
            }
            if (line.startsWith("{\"event\"") || line.startsWith("{\"timestamp\"")) {
                events.add(line);
                continue;
            }
            return line;
        }
    }

    /** Reads lines until one contains {@code needle} (an event name, say); returns it. */
    public String awaitLine(String needle) throws IOException {
        for (String e : events) {
            if (e.contains(needle)) {
                events.remove(e);
                return e;
            }
        }
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("QMP connection closed while waiting for " + needle);
            }
            if (line.contains(needle)) {
                return line;
            }
            events.add(line);
        }
    }

    /** Events received while waiting for replies, oldest first. */
    public List<String> events() {
        return events;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
