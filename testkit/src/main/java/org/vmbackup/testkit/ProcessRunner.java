package org.vmbackup.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs a program for a test and never waits on it without bound: both output streams are read on threads of
 * their own while it runs (a tool that fills a pipe nobody reads, or that never exits, cannot hang the test), and
 * a run that outlasts its timeout has its whole process tree killed and fails with the command and the output so
 * far. The one way tests start processes (issue 13: tests that called {@code readAllBytes()} before
 * {@code waitFor} hung with the tool).
 *
 * <pre>{@code
 * ProcessResult r = ProcessRunner.command("qemu-img", "info", path.toString()).timeout(Duration.ofSeconds(30))
 *         .run().requireSuccess();
 * }</pre>
 *
 * <p>A mutable builder: not thread-safe, reusable after {@link #run}.
 */
public final class ProcessRunner {
    /** What a run may take unless told otherwise: generous for a tool, short of the test's own limit. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private final List<String> command;
    private final Map<String, String> env = new LinkedHashMap<>();
    private Path directory;
    private byte[] stdin = new byte[0];
    private Duration timeout = DEFAULT_TIMEOUT;
    private boolean mergeStderr;

    private ProcessRunner(List<String> command) {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        this.command = List.copyOf(command);
    }

    /** The program and its arguments. */
    public static ProcessRunner command(String... command) {
        return new ProcessRunner(List.of(command));
    }

    /** The program and its arguments. */
    public static ProcessRunner command(List<String> command) {
        return new ProcessRunner(command);
    }

    /** Sets an environment variable for the program, or removes it when {@code value} is null. */
    public ProcessRunner env(String name, String value) {
        env.put(Objects.requireNonNull(name, "name"), value);
        return this;
    }

    /** Sets (or, with null values, removes) environment variables. */
    public ProcessRunner env(Map<String, String> vars) {
        vars.forEach(this::env);
        return this;
    }

    /** The working directory (default: the test's). */
    public ProcessRunner directory(Path dir) {
        this.directory = dir;
        return this;
    }

    /** What the program reads on stdin (default: nothing, stdin closed at once). */
    public ProcessRunner stdin(byte[] data) {
        this.stdin = data.clone();
        return this;
    }

    /** What the program reads on stdin, as UTF-8. */
    public ProcessRunner stdin(String data) {
        return stdin(data.getBytes(StandardCharsets.UTF_8));
    }

    /** Longest the run may take, from start to exit (default {@link #DEFAULT_TIMEOUT}). */
    public ProcessRunner timeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        this.timeout = timeout;
        return this;
    }

    /** Sends stderr into stdout, interleaved as the program wrote them (stderr is then empty). */
    public ProcessRunner mergeStderr() {
        this.mergeStderr = true;
        return this;
    }

    /** The command line, for messages. */
    public List<String> commandLine() {
        return command;
    }

    /**
     * Runs the program to its end.
     *
     * @return its exit code and output, whatever the exit code (see {@link ProcessResult#requireSuccess})
     * @throws ProcessRunnerException if it could not start, or did not exit within the timeout (its process tree
     *     is killed; the message has the output so far)
     * @throws InterruptedException if the test was interrupted (its process tree is killed)
     */
    public ProcessResult run() throws IOException, InterruptedException {
        try (RunningProcess p = start()) {
            return p.await(timeout);
        }
    }

    /**
     * Starts the program and returns while it runs, for tests that interact with it; its output is collected
     * meanwhile. Close the handle (try-with-resources) so that it cannot outlive the test.
     */
    public RunningProcess start() throws IOException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(mergeStderr);
        if (directory != null) {
            pb.directory(directory.toFile());
        }
        env.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new ProcessRunnerException(command, "could not start: " + e.getMessage(), "", e);
        }
        return new RunningProcess(command, process, stdin, timeout);
    }
}
