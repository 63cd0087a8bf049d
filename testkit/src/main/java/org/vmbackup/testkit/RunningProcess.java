package org.vmbackup.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A program {@link ProcessRunner} started, while it runs: its stdin is fed and its stdout and stderr are read on
 * daemon threads from the start, so the program never blocks on a full pipe and the test never blocks on a read.
 * Closing the handle kills the process tree if it still runs.
 */
public final class RunningProcess implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RunningProcess.class);
    /**
     * How long to wait, after the program exited, for the last of its output: a child it left behind (a
     * daemonized server) may hold the pipe open for ever.
     */
    private static final long DRAIN_MILLIS = 5_000;
    /** How long to wait for a killed process tree to be gone. */
    private static final long KILL_WAIT_SECONDS = 10;

    private final List<String> command;
    private final Process process;
    private final Duration defaultTimeout;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final Thread stdoutReader;
    private final Thread stderrReader;

    RunningProcess(List<String> command, Process process, byte[] stdin, Duration defaultTimeout) {
        this.command = command;
        this.process = process;
        this.defaultTimeout = defaultTimeout;
        this.stdoutReader = pump(process.getInputStream(), stdout, "stdout");
        this.stderrReader = pump(process.getErrorStream(), stderr, "stderr");
        Thread feeder = new Thread(() -> {
            try (OutputStream in = process.getOutputStream()) {
                in.write(stdin);
            } catch (IOException e) { // the program exited without reading it all: its exit code tells
                log.debug("{}: stdin: {}", command.get(0), e.toString());
            }
        }, "process-stdin");
        feeder.setDaemon(true);
        feeder.start();
    }

    private Thread pump(InputStream from, ByteArrayOutputStream to, String name) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (from) {
                int n;
                while ((n = from.read(buf)) >= 0) {
                    synchronized (to) {
                        to.write(buf, 0, n);
                        to.notifyAll();
                    }
                }
            } catch (IOException e) { // the stream was closed under us (the process was killed)
                log.debug("{}: {}: {}", command.get(0), name, e.toString());
            }
        }, "process-" + name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** The process's id, e.g. to signal it. */
    public long pid() {
        return process.pid();
    }

    /** The process, for what this class does not offer. */
    public Process process() {
        return process;
    }

    /** stdout so far (with stderr when merged). */
    public String stdoutSoFar() {
        synchronized (stdout) {
            return stdout.toString(StandardCharsets.UTF_8);
        }
    }

    /** stderr so far. */
    public String stderrSoFar() {
        synchronized (stderr) {
            return stderr.toString(StandardCharsets.UTF_8);
        }
    }

    /**
     * Waits until a complete line of stdout matches {@code line}.
     *
     * @return that line
     * @throws ProcessRunnerException if the program ends first or {@code timeout} passes (the program goes on
     *     running: close the handle to stop it)
     */
    public String awaitLine(Predicate<String> line, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (String l : completeLines(stdoutSoFar())) {
                if (line.test(l)) {
                    return l;
                }
            }
            if (!process.isAlive() && !stdoutReader.isAlive()) {
                throw failure("exited with " + process.exitValue() + " before the awaited line", null);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw failure("no awaited line within " + timeout.toMillis() + " ms", null);
            }
            synchronized (stdout) {
                stdout.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 100)));
            }
        }
    }

    private static List<String> completeLines(String text) {
        int end = text.lastIndexOf('\n');
        return end < 0 ? List.of() : List.of(text.substring(0, end).split("\n", -1));
    }

    /** Waits up to the runner's timeout for the program to exit; as {@link #await(Duration)}. */
    public ProcessResult await() throws IOException, InterruptedException {
        return await(defaultTimeout);
    }

    /**
     * Waits for the program to exit and for the rest of its output.
     *
     * @throws ProcessRunnerException if it does not exit within {@code timeout}: its process tree is killed
     * @throws InterruptedException if interrupted: its process tree is killed
     */
    public ProcessResult await(Duration timeout) throws IOException, InterruptedException {
        boolean exited;
        try {
            exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            killTree();
            throw e;
        }
        if (!exited) {
            killTree();
            throw failure("did not exit within " + timeout.toMillis() + " ms (process tree killed)", null);
        }
        drain();
        return new ProcessResult(command, process.exitValue(), stdoutSoFar(), stderrSoFar());
    }

    private void drain() throws InterruptedException {
        long deadline = System.currentTimeMillis() + DRAIN_MILLIS;
        stdoutReader.join(Math.max(1, deadline - System.currentTimeMillis()));
        stderrReader.join(Math.max(1, deadline - System.currentTimeMillis()));
        if (stdoutReader.isAlive() || stderrReader.isAlive()) {
            log.debug("{}: output still open {} ms after exit (a child holds it); keeping what came",
                    command.get(0), DRAIN_MILLIS);
        }
    }

    private ProcessRunnerException failure(String what, Throwable cause) {
        String err = stderrSoFar();
        return new ProcessRunnerException(command, what, stdoutSoFar() + err, cause);
    }

    /** Kills the program and every process it started, and waits (bounded) until they are gone. */
    public void killTree() throws InterruptedException {
        List<ProcessHandle> tree = process.descendants().toList();
        tree.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(KILL_WAIT_SECONDS);
        if (!process.waitFor(KILL_WAIT_SECONDS, TimeUnit.SECONDS)) {
            log.warn("{}: still alive {} s after SIGKILL", command.get(0), KILL_WAIT_SECONDS);
        }
        for (ProcessHandle h : tree) {
            while (h.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }
    }

    /** Kills the process tree if the program still runs (an interrupt is kept for the caller to see). */
    @Override
    public void close() {
        if (process.isAlive() || process.descendants().anyMatch(ProcessHandle::isAlive)) {
            try {
                killTree();
            } catch (InterruptedException e) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
