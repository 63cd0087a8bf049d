package org.vmbackup.core.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;

/**
 * A tool the library runs (qemu-img), waited for with a bound: its output (stderr merged into stdout) is read on
 * a daemon thread while it runs, so the wait is {@link Process#waitFor(long, TimeUnit)} (bounded, interruptible)
 * rather than a read of its pipe that returns only when every process holding the pipe has gone (issue 13). A
 * tool that outlasts its bound, or whose wait is interrupted, is killed with its children. Only the end of its
 * output is kept, so memory stays bounded whatever the tool prints.
 */
public final class ToolProcess {
    private static final Logger log = LoggerFactory.getLogger(ToolProcess.class);
    /** How long to wait for the rest of the output once the tool has exited (a child may hold the pipe). */
    private static final long DRAIN_MILLIS = 2_000;
    /** Output kept for messages: the last this many bytes (a tool's error is at its end; a chatty one is bounded). */
    static final int KEPT = 64 * 1024;

    private final List<String> command;
    private final Process process;
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private final Thread reader;
    private long dropped;

    private ToolProcess(List<String> command, Process process) {
        this.command = command;
        this.process = process;
        this.reader = new Thread(() -> drain(process.getInputStream()), "tool-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code command} with stdin closed. */
    public static ToolProcess start(List<String> command) throws IOException {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        return new ToolProcess(List.copyOf(command), p);
    }

    /** How a tool ended: its exit code and its output (stripped). */
    public record Outcome(int exitCode, String output) {
    }

    /**
     * Waits for the tool to exit.
     *
     * @throws BackupException if it did not exit within {@code timeout} (it is killed; the message names
     *     {@code what} and has the output so far)
     * @throws InterruptedException if interrupted (it is killed)
     */
    public Outcome await(Duration timeout, String what) throws InterruptedException {
        boolean exited;
        try {
            exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            kill();
            throw e;
        }
        if (!exited) {
            kill();
            String out = outputSoFar();
            throw new BackupException(what + ": " + Path.of(command.get(0)).getFileName() + " did not finish within "
                    + timeout.toSeconds() + " s and was stopped" + (out.isEmpty() ? "" : ": " + out));
        }
        reader.join(DRAIN_MILLIS);
        return new Outcome(process.exitValue(), outputSoFar());
    }

    /** Kills the tool and its children, and waits (bounded) until it has exited. */
    public void kill() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                log.warn("{} (pid {}) still alive 10 s after SIGKILL", command.get(0), process.pid());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String outputSoFar() {
        synchronized (output) {
            String out = output.toString(StandardCharsets.UTF_8).strip();
            return dropped == 0 ? out : "[" + dropped + " bytes of output left out] " + out;
        }
    }

    private void drain(InputStream in) {
        byte[] buf = new byte[4096];
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                synchronized (output) {
                    output.write(buf, 0, n);
                    if (output.size() > 2 * KEPT) {
                        byte[] all = output.toByteArray();
                        dropped += all.length - KEPT;
                        output.reset();
                        output.write(all, all.length - KEPT, KEPT);
                    }
                }
            }
        } catch (IOException e) { // closed when the tool was killed
            log.debug("{} output: {}", command.get(0), e.toString());
        }
    }
}
