package org.vmbackup.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A real S3 server for the tests: S3Proxy (its single jar, copied to {@code target/s3proxy} by the build) as a
 * process of its own, on jclouds' filesystem backend in a directory of the test, so that it can be killed and
 * restarted on the same data and port. Always killed on {@link #close}. A module that uses it copies the jar
 * ({@code org.gaul:s3proxy:jar-with-dependencies}) there with the dependency plugin.
 * {@link #startInMemory} runs it on jclouds' transient (in-memory) backend instead: for benchmarks that measure
 * the client and the network, not the server's disk.
 */
public final class S3ProxyServer implements AutoCloseable {
    /** The access key the server accepts. */
    public static final String ACCESS_KEY = "vmbackup-test";
    /** Its secret key. */
    public static final String SECRET_KEY = "vmbackup-test-secret";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final Path dir;
    private final int port;
    private final boolean inMemory;
    private final String heap;
    private RunningProcess process;

    private S3ProxyServer(Path dir, int port, boolean inMemory, String heap) {
        this.dir = dir;
        this.port = port;
        this.inMemory = inMemory;
        this.heap = heap;
    }

    /**
     * Starts a server whose data lives in {@code dir}, with the given buckets.
     *
     * @param dir a directory of the test
     * @param buckets the buckets to create
     * @return the running server
     * @throws Exception when it does not start
     */
    public static S3ProxyServer start(Path dir, String... buckets) throws Exception {
        Path data = dir.resolve("data");
        for (String b : buckets) {
            // the filesystem backend's buckets are the base directory's subdirectories
            Files.createDirectories(data.resolve(b));
        }
        S3ProxyServer s = new S3ProxyServer(dir, freePort(), false, "256m");
        s.startProcess();
        return s;
    }

    /**
     * Starts a server that keeps its objects in its heap (jclouds' {@code transient} backend: no disk, no fsync, no
     * extended attributes). Its buckets are created by the client (a PUT of the bucket); a {@link #kill} loses
     * them all.
     *
     * @param dir a directory of the test (for the configuration)
     * @param heap the server's {@code -Xmx}, which must hold every object stored, e.g. {@code "2g"}
     * @return the running server
     * @throws Exception when it does not start
     */
    public static S3ProxyServer startInMemory(Path dir, String heap) throws Exception {
        Files.createDirectories(dir);
        S3ProxyServer s = new S3ProxyServer(dir, freePort(), true, heap);
        s.startProcess();
        return s;
    }

    private static int freePort() throws IOException {
        try (ServerSocket ss = new ServerSocket(0)) {
            return ss.getLocalPort();
        }
    }

    private static Path jar() {
        Path jar = Path.of("target/s3proxy/s3proxy.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no " + jar.toAbsolutePath() + ": build with mvn (generate-test-resources "
                    + "copies S3Proxy there)");
        }
        return jar;
    }

    /**
     * Starts (or, after {@link #kill}, restarts) the server process on the same port and data.
     *
     * @throws Exception when it does not listen within 90 s
     */
    public void startProcess() throws Exception {
        Path props = dir.resolve("s3proxy.conf");
        Files.writeString(props, String.join("\n", List.of(
                "s3proxy.endpoint=http://127.0.0.1:" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + ACCESS_KEY,
                "s3proxy.credential=" + SECRET_KEY,
                "jclouds.provider=" + (inMemory ? "transient" : "filesystem"),
                "jclouds.identity=unused",
                "jclouds.credential=unused",
                "jclouds.filesystem.basedir=" + dir.resolve("data").toAbsolutePath())) + "\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        process = ProcessRunner.command(java, "-Xmx" + heap, "-jar", jar().toAbsolutePath().toString(),
                "--properties", props.toAbsolutePath().toString())
                .mergeStderr().timeout(Duration.ofMinutes(20)).start();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException e) {
                if (!process.process().isAlive()) {
                    throw new IllegalStateException("S3Proxy exited: " + process.stdoutSoFar());
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("S3Proxy did not listen within " + START_TIMEOUT + ": "
                            + process.stdoutSoFar());
                }
                Thread.sleep(200);
            }
        }
    }

    /** Kills the server (as a crash would), leaving its data. */
    public void kill() throws InterruptedException {
        process.killTree();
    }

    /** @return the server's port */
    public int port() {
        return port;
    }

    /** @return the server's URL */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /**
     * @param bucket a bucket name
     * @return the directory holding its objects
     */
    public Path bucketDir(String bucket) {
        return dir.resolve("data").resolve(bucket);
    }

    /** @return the CPU time the server process has used so far (for benchmarks: who is the bottleneck) */
    public Duration cpuTime() {
        return process.process().toHandle().info().totalCpuDuration().orElse(Duration.ZERO);
    }

    /** @return what the server printed so far */
    public String log() {
        return process.stdoutSoFar();
    }

    @Override
    public void close() {
        process.close();
    }
}
