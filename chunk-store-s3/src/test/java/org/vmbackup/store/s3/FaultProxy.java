package org.vmbackup.store.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * A small HTTP proxy between the S3 client and S3Proxy that injects faults per request: a 500 or 503 SlowDown
 * answer, a connection dropped before the request reaches the server, or one cut in the middle of the server's
 * answer (the request took effect, the client never hears it), and a delay each way (round-trip time). It adds
 * {@code Connection: close} to each request so that every request has a connection of its own and can be judged.
 */
final class FaultProxy implements AutoCloseable {
    enum Fault {
        NONE, ERROR_500, SLOW_DOWN_503, DROP, CUT_ANSWER,
        /** 412, as a server that enforces {@code If-None-Match: *} answers for an existing object (S3Proxy does not). */
        PRECONDITION_FAILED,
        /** 403 AccessDenied, as a server answers credentials that lack the permission. */
        ACCESS_DENIED,
        /**
         * The whole request is taken and the connection reset (the client gives up on it), and the request reaches
         * the server {@link #lateBy} later: a request a server carries out after its client stopped waiting.
         */
        LATE,
        /**
         * A request without a body carried out twice, as a proxy in front of the server may resend an idempotent
         * request on its own: forwarded, its answer read, {@link #between} run, forwarded again, and the second
         * answer given to the client.
         */
        TWICE
    }

    private static final int MAX_HEAD = 64 * 1024;
    private final ServerSocket listener;
    private final InetSocketAddress upstream;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fault-proxy");
        t.setDaemon(true);
        return t;
    });
    private volatile BiFunction<String, String, Fault> rule = (method, path) -> Fault.NONE;
    private volatile Duration oneWayDelay = Duration.ZERO;
    private volatile Duration lateBy = Duration.ofSeconds(2);
    private volatile Runnable between = () -> { };
    /** LATE requests the server has answered. */
    private final AtomicInteger landedLate = new AtomicInteger();
    private final AtomicInteger injected = new AtomicInteger();
    private final AtomicInteger requests = new AtomicInteger();

    FaultProxy(URI upstream) throws IOException {
        this.upstream = new InetSocketAddress(upstream.getHost(), upstream.getPort());
        this.listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        threads.execute(this::acceptLoop);
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + listener.getLocalPort());
    }

    /** Decides each request's fault from its method ({@code COPY} for a PUT with a copy source) and path. */
    void rule(BiFunction<String, String, Fault> r) {
        rule = r;
    }

    /** Half the round-trip time added: before the request goes up and before the answer comes back. */
    void delay(Duration oneWay) {
        oneWayDelay = oneWay;
    }

    /** What happens between the two executions of a {@link Fault#TWICE} request. */
    void between(Runnable r) {
        between = r;
    }

    /** How long after the reset a {@link Fault#LATE} request reaches the server. */
    void lateBy(Duration d) {
        lateBy = d;
    }

    /** How many {@link Fault#LATE} requests the server has carried out (answered). */
    int landedLate() {
        return landedLate.get();
    }

    int injected() {
        return injected.get();
    }

    int requests() {
        return requests.get();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket c = listener.accept();
                threads.execute(() -> serve(c));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket client) {
        try (client) {
            client.setSoTimeout(60_000);
            InputStream in = client.getInputStream();
            byte[] head = readHead(in);
            if (head == null) {
                return;
            }
            String text = new String(head, StandardCharsets.ISO_8859_1);
            String[] first = text.substring(0, text.indexOf("\r\n")).split(" ");
            requests.incrementAndGet();
            // a copy (the backend's touch) is a PUT on the wire; the rules tell it apart as COPY
            String method = first[0].equals("PUT") && text.toLowerCase(Locale.ROOT).contains("\r\nx-amz-copy-source:")
                    ? "COPY" : first[0];
            Fault f = rule.apply(method, first[1]);
            if (f != Fault.NONE) {
                injected.incrementAndGet();
            }
            sleep(oneWayDelay);
            switch (f) {
                case DROP -> client.setSoLinger(true, 0); // a reset, as a crashed server or middlebox gives
                case LATE -> {
                    if (expectsContinue(text)) {
                        client.getOutputStream().write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                        client.getOutputStream().flush();
                    }
                    byte[] body = in.readNBytes((int) contentLength(text));
                    client.setSoLinger(true, 0);
                    String up = rewriteHead(text);
                    threads.execute(() -> landLate(up, body));
                }
                case ERROR_500, SLOW_DOWN_503, PRECONDITION_FAILED, ACCESS_DENIED -> {
                    if (!expectsContinue(text)) {
                        in.skipNBytes(contentLength(text)); // else the client sends no body after a final answer
                    }
                    answer(client.getOutputStream(), f);
                }
                case TWICE -> {
                    String up = rewriteHead(text);
                    exchange(up);
                    between.run();
                    client.getOutputStream().write(exchange(up));
                    client.getOutputStream().flush();
                }
                default -> {
                    if (expectsContinue(text)) {
                        // answered here, so that the server's answer is the final one (and CUT_ANSWER cuts that)
                        client.getOutputStream().write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                        client.getOutputStream().flush();
                    }
                    forward(client, in, rewriteHead(text), f == Fault.CUT_ANSWER);
                }
            }
        } catch (IOException | RuntimeException e) {
            // the client gave up or the server went away: nothing to do for a test proxy
        }
    }

    /** Sends a bodiless request to the server and returns its whole answer (the server closes after it). */
    private byte[] exchange(String head) throws IOException {
        try (Socket up = new Socket()) {
            up.connect(upstream, 10_000);
            up.setSoTimeout(60_000);
            up.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
            up.getOutputStream().flush();
            return up.getInputStream().readAllBytes();
        }
    }

    private void landLate(String head, byte[] body) {
        sleep(lateBy);
        try (Socket up = new Socket()) {
            up.connect(upstream, 10_000);
            up.setSoTimeout(60_000);
            up.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
            up.getOutputStream().write(body);
            up.getOutputStream().flush();
            if (up.getInputStream().read() >= 0) {
                up.getInputStream().readAllBytes();
                landedLate.incrementAndGet();
            }
        } catch (IOException e) {
            // the server went away: the request never landed
        }
    }

    private void forward(Socket client, InputStream in, String head, boolean cut) throws IOException {
        try (Socket up = new Socket()) {
            up.connect(upstream, 10_000);
            up.setSoTimeout(60_000);
            OutputStream upOut = up.getOutputStream();
            upOut.write(head.getBytes(StandardCharsets.ISO_8859_1));
            threads.execute(() -> {
                try {
                    in.transferTo(upOut); // the body (the server closes after its answer: Connection: close)
                } catch (IOException e) {
                    // done
                }
            });
            InputStream upIn = up.getInputStream();
            OutputStream out = client.getOutputStream();
            byte[] buf = new byte[65536];
            boolean first = true;
            for (int n; (n = upIn.read(buf)) >= 0;) {
                if (first) {
                    sleep(oneWayDelay);
                    first = false;
                }
                if (cut) {
                    out.write(buf, 0, Math.min(n, 12)); // "HTTP/1.1 200" and then nothing
                    out.flush();
                    client.setSoLinger(true, 0);
                    return;
                }
                out.write(buf, 0, n);
            }
        }
    }

    private static void answer(OutputStream out, Fault f) throws IOException {
        String code = switch (f) {
            case SLOW_DOWN_503 -> "SlowDown";
            case PRECONDITION_FAILED -> "PreconditionFailed";
            case ACCESS_DENIED -> "AccessDenied";
            default -> "InternalError";
        };
        String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code
                + "</Code><Message>injected by the test</Message></Error>";
        String status = switch (f) {
            case SLOW_DOWN_503 -> "503 Slow Down";
            case PRECONDITION_FAILED -> "412 Precondition Failed";
            case ACCESS_DENIED -> "403 Forbidden";
            default -> "500 Internal Server Error";
        };
        out.write(("HTTP/1.1 " + status + "\r\nContent-Type: application/xml\r\nContent-Length: " + body.length()
                + "\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        for (int c; (c = in.read()) >= 0;) {
            b.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
            if (state == 4) {
                return b.toByteArray();
            }
            if (b.size() > MAX_HEAD) {
                throw new IOException("request head too long");
            }
        }
        return null;
    }

    private static long contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                return Long.parseLong(line.substring(15).trim());
            }
        }
        return 0;
    }

    private static boolean expectsContinue(String head) {
        return head.toLowerCase(Locale.ROOT).contains("\r\nexpect: 100-continue");
    }

    /** The head with {@code Connection: close} and without {@code Expect} (the proxy answered it). */
    private static String rewriteHead(String head) {
        StringBuilder b = new StringBuilder();
        for (String line : head.substring(0, head.length() - 4).split("\r\n")) {
            String l = line.toLowerCase(Locale.ROOT);
            if (!l.startsWith("connection:") && !l.startsWith("expect:")) {
                b.append(line).append("\r\n");
            }
        }
        return b.append("Connection: close\r\n\r\n").toString();
    }

    private static void sleep(Duration d) {
        if (!d.isZero()) {
            try {
                Thread.sleep(d.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        threads.shutdownNow();
        try {
            threads.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
