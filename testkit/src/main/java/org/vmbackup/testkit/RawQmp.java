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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A deliberately minimal, blocking, line-based QMP peer for tests of modules that must not depend on the
 * real client (the NBD server's ITs drive a backup job with it) and for checking the real client itself.
 *
 * <p>QEMU writes one JSON value per line, which is all this relies on. Events seen while waiting for a reply
 * are kept in {@link #events()}.
 *
 * <p>Every read is bounded: a QEMU that stops answering closes the connection after {@link #REPLY_TIMEOUT}
 * (greeting, replies) or the given time (events) and the call fails saying what it waited for, instead of
 * holding the test until its own limit (issue 13).
 */
public final class RawQmp implements AutoCloseable {
    /** Longest wait for the greeting or a command's reply: QEMU answers within milliseconds, even under TCG. */
    public static final Duration REPLY_TIMEOUT = Duration.ofSeconds(60);
    /** Longest wait for an event by default: a job's completion on a loaded machine, short of an IT's limit. */
    public static final Duration EVENT_TIMEOUT = Duration.ofMinutes(4);
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "raw-qmp-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final SocketChannel channel;
    private final BufferedReader in;
    private final String greeting;
    private final List<String> events = new ArrayList<>();

    private RawQmp(SocketChannel channel) throws IOException {
        this.channel = channel;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        this.greeting = bounded(REPLY_TIMEOUT, "QMP greeting", in::readLine);
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
        return bounded(REPLY_TIMEOUT, "reply to " + json, () -> executeUnbounded(json));
    }

    private String executeUnbounded(String json) throws IOException {
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

    /** Reads lines until one contains {@code needle} (an event name, say), up to {@link #EVENT_TIMEOUT}. */
    public String awaitLine(String needle) throws IOException {
        return awaitLine(needle, EVENT_TIMEOUT);
    }

    /** Reads lines until one contains {@code needle}; returns it; fails (and closes) after {@code timeout}. */
    public String awaitLine(String needle, Duration timeout) throws IOException {
        return bounded(timeout, "line containing " + needle, () -> awaitLineUnbounded(needle));
    }

    private String awaitLineUnbounded(String needle) throws IOException {
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

    /** A blocking read of the connection. */
    private interface Read<T> {
        T call() throws IOException;
    }

    /**
     * Runs {@code read}, closing the connection if it has not returned within {@code timeout}: the only way to stop
     * a blocking read of a channel from outside.
     */
    private <T> T bounded(Duration timeout, String what, Read<T> read) throws IOException {
        AtomicBoolean fired = new AtomicBoolean();
        ScheduledFuture<?> watchdog = WATCHDOG.schedule(() -> {
            fired.set(true);
            try {
                channel.close();
            } catch (IOException e) { // closing is all the watchdog does: a failure leaves the read to the test
                fired.set(false);
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            return read.call();
        } catch (IOException e) {
            if (fired.get()) {
                throw new IOException("no " + what + " from QEMU within " + timeout.toMillis()
                        + " ms; connection closed", e);
            }
            throw e;
        } finally {
            watchdog.cancel(false);
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
