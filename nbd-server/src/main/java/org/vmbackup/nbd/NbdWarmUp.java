package org.vmbackup.nbd;

import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.nbd.internal.WarmUpClient;

/**
 * Runs the request path once through a private server on the caller's event loop, so that a fresh JVM's first
 * client is served by compiled code. Without it, the first ~2 GiB a new JVM serves run partly interpreted while the
 * JIT compiles some 600 methods of Netty's and ours on the same cores (BENCHMARKS.md: a fresh {@code nbd serve}'s
 * first upload at 0.81x nbdkit's speed, later ones at 1.0-1.1x). The work is the same either way; this moves it
 * before the socket is published, where a server's start-up work belongs.
 *
 * <p>Once per JVM: the compiled code is shared by every server and event loop.
 *
 * <p>Every wait is bounded, and a warm-up that cannot finish is abandoned (logged, its future failed), never
 * waited for indefinitely: its private server runs on a loop the caller may close under it (a command that fails
 * while the warm-up runs) or that may be stuck, and a later caller joins the same warm-up (issue 13).
 */
final class NbdWarmUp {
    private static final Logger log = LoggerFactory.getLogger(NbdWarmUp.class);
    /**
     * Rounds of {@link WarmUpClient#drive}, shared out among the clients: ~3400 requests, well past the compile
     * thresholds of per-request code.
     */
    static final int ROUNDS = 4;
    /** At most this many clients (one per I/O thread). */
    private static final int MAX_CLIENTS = 8;
    /** Export size: the requests cycle over it (16 MiB of direct memory while the warm-up runs). */
    private static final long EXPORT_SIZE = 16L << 20;
    /** How long to wait for the compile queue to drain after the requests (it is usually empty within ~0.1 s). */
    private static final long COMPILER_WAIT_NANOS = TimeUnit.SECONDS.toNanos(2);
    /**
     * Longest wait for a connection, a reply, or the server taking a request: the server's own handshake timeout
     * (a server that is merely slow under load answers well within it).
     */
    static final Duration IO_TIMEOUT = Duration.ofSeconds(10);
    /** The whole warm-up's limit: ~0.5 s on an idle machine, a few seconds on a loaded one. */
    static final Duration LIMIT = Duration.ofSeconds(60);
    /** Longest wait for the private server to start or close (its loop is not known to be gone). */
    private static final long SERVER_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /**
     * How long a warm-up's future can take at most (its limit, the server's close, the JIT's queue, and slack):
     * callers bound their waits by it.
     */
    static final Duration MAX_DURATION = LIMIT.plusNanos(SERVER_WAIT_NANOS + COMPILER_WAIT_NANOS)
            .plusSeconds(5);

    private static CompletableFuture<Result> once;
    /** The loop {@link #once} runs on. */
    private static NbdEventLoop onceLoop;

    /** What a warm-up did. */
    record Result(int clients, int requests, long bytesWrittenInPlace) {
    }

    private NbdWarmUp() {
    }

    /**
     * The JVM's warm-up: started by the first caller on its loop and shared by later ones while it runs or once it
     * succeeded; after a failure the next caller starts another, and so does a caller that finds it still running
     * on a loop that is being closed (it is about to fail; waiting for it would only delay the caller).
     */
    static synchronized CompletableFuture<Result> once(NbdEventLoop loop) {
        if (once == null || once.isCompletedExceptionally()
                || !once.isDone() && onceLoop != loop && onceLoop.group().isShuttingDown()) {
            once = run(loop, null);
            onceLoop = loop;
        }
        return once;
    }

    /** {@code warmUp}, failed with a {@link java.util.concurrent.TimeoutException} if it outlasts its bound. */
    static <T> CompletableFuture<T> bounded(CompletableFuture<T> warmUp) {
        return warmUp.copy().orTimeout(MAX_DURATION.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * One warm-up on a thread of its own: a private server on a unix socket in a new private directory (under
     * {@code parent}, or the JVM's temporary directory when null), with a memory export, driven by a
     * {@link WarmUpClient}; then waits until the JIT has no more to compile, up to 2 s.
     */
    static CompletableFuture<Result> run(NbdEventLoop loop, Path parent) {
        return run(loop, parent, IO_TIMEOUT);
    }

    /** As {@link #run(NbdEventLoop, Path)}, with the given I/O timeout (tests shorten it). */
    static CompletableFuture<Result> run(NbdEventLoop loop, Path parent, Duration ioTimeout) {
        return onOwnThread("nbd-warm-up", () -> runHere(loop, parent, ioTimeout));
    }

    /** Runs {@code work} on a new daemon thread (blocking socket I/O, never an I/O thread). */
    private static <T> CompletableFuture<T> onOwnThread(String name, Callable<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                result.complete(work.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
        return result;
    }

    private static Result runHere(NbdEventLoop loop, Path parent, Duration ioTimeout) throws Exception {
        long start = System.nanoTime();
        long deadline = start + LIMIT.toNanos();
        BooleanSupplier abandoned = () -> loop.group().isShuttingDown() || System.nanoTime() - deadline > 0;
        Path dir = parent == null ? Files.createTempDirectory("nbd-warm-up-")
                : Files.createTempDirectory(parent, "nbd-warm-up-");
        Path socket = dir.resolve("warm-up.sock");
        NbdServer.Builder builder = NbdServer.builder().unixSocket(socket).eventLoop(loop)
                .export(NbdExport.of("warm-up", MemoryBackend.preallocated(EXPORT_SIZE)));
        builder.quiet = true;
        NbdServer server = builder.build();
        int clients = clientsFor(loop);
        int requests;
        long inPlace;
        boolean finished = false;
        try {
            await(server.start(), loop);
            requests = driveFromEveryThread(clients, socket, ioTimeout, abandoned, deadline);
            inPlace = server.metrics("warm-up").bytesWrittenInPlace();
            finished = true;
        } catch (Exception | Error e) {
            long ms = (System.nanoTime() - start) / 1_000_000;
            if (loop.group().isShuttingDown()) { // its owner closed the loop: nobody waits for this warm-up
                log.debug("NBD warm-up abandoned after {} ms, its event loop closed: {}", ms, e.toString());
            } else {
                log.warn("NBD warm-up abandoned after {} ms: {}", ms, e.toString());
            }
            throw e;
        } finally {
            closeServer(server, loop, finished);
            deleteQuietly(socket);
            deleteQuietly(dir);
        }
        long requestNanos = System.nanoTime() - start;
        long waited = awaitCompilerIdle();
        log.debug("warm-up: {} requests from {} clients in {} ms, JIT idle {} ms later", requests, clients,
                requestNanos / 1_000_000, waited / 1_000_000);
        return new Result(clients, requests, inPlace);
    }

    /**
     * One client per I/O thread (connections are spread over the threads in turn), all at once, the rounds shared
     * out among them: besides the shared compiled code, each thread fills its own object pools and buffer caches
     * and touches its own stack and allocation buffers for the request path.
     */
    private static int driveFromEveryThread(int clients, Path socket, Duration ioTimeout, BooleanSupplier abandoned,
            long deadline) throws Exception {
        int rounds = Math.max(1, ROUNDS / clients);
        List<WarmUpClient> opened = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) {
                opened.add(WarmUpClient.open(socket, "warm-up", ioTimeout, abandoned));
            }
            List<CompletableFuture<Integer>> driven = new ArrayList<>();
            for (WarmUpClient client : opened) {
                driven.add(onOwnThread("nbd-warm-up-client", () -> client.drive(rounds)));
            }
            int requests = 0;
            for (CompletableFuture<Integer> d : driven) {
                try {
                    // The clients stop by themselves at the deadline (abandoned); the slack covers their last poll.
                    requests += d.get(Math.max(0, deadline - System.nanoTime()) + TimeUnit.SECONDS.toNanos(1),
                            TimeUnit.NANOSECONDS);
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof Exception ex ? ex : e;
                }
            }
            return requests;
        } finally {
            for (WarmUpClient client : opened) {
                try {
                    client.close();
                } catch (IOException e) {
                    log.debug("warm-up client close: {}", e.toString());
                }
            }
        }
    }

    /**
     * Closes the private server: after a finished warm-up waits for it (bounded); after a failed one only starts
     * the close, since its loop may be gone or stuck (the reason the warm-up failed) and would never answer.
     */
    private static void closeServer(NbdServer server, NbdEventLoop loop, boolean finished) {
        if (!finished && loop.group().isShuttingDown()) {
            return; // nothing runs on a loop that is shutting down: a close would only be rejected by it
        }
        try {
            CompletableFuture<Void> closed = server.close();
            if (finished) {
                await(closed, loop);
            }
        } catch (Exception e) { // must not hide why the warm-up itself failed
            log.debug("warm-up server close: {}", e.toString());
        }
    }

    /**
     * Waits up to 10 s for {@code f}, giving up at once if the loop is being shut down (its tasks would never run:
     * the caller closed it, e.g. because the command that started the warm-up failed).
     */
    private static <T> T await(CompletableFuture<T> f, NbdEventLoop loop) throws Exception {
        long deadline = System.nanoTime() + SERVER_WAIT_NANOS;
        while (true) {
            try {
                return f.get(50, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                if (loop.group().isShuttingDown()) {
                    throw new IOException("event loop closed during the warm-up");
                }
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
        }
    }

    /** One client per I/O thread of the loop, 1 to {@link #MAX_CLIENTS}. */
    private static int clientsFor(NbdEventLoop loop) {
        int threads = 0;
        for (Iterator<?> it = loop.group().iterator(); it.hasNext() && threads < MAX_CLIENTS; it.next()) {
            threads++;
        }
        return Math.max(1, threads);
    }

    /** Waits until the JIT's total compile time stops growing (no compile finished for 2 polls). */
    private static long awaitCompilerIdle() throws InterruptedException {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        long start = System.nanoTime();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return 0;
        }
        long last = jit.getTotalCompilationTime();
        int quiet = 0;
        while (quiet < 2 && System.nanoTime() - start < COMPILER_WAIT_NANOS) {
            Thread.sleep(20);
            long now = jit.getTotalCompilationTime();
            quiet = now == last ? quiet + 1 : 0;
            last = now;
        }
        return System.nanoTime() - start;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            log.debug("cannot delete {}: {}", p, e.toString());
        }
    }
}
