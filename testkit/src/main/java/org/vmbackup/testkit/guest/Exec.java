package org.vmbackup.testkit.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one external program with a bounded wait, its output captured in a file (so a chatty program never blocks
 * on a full pipe). Private to the guest builder; it will move onto testkit's shared process runner.
 */
final class Exec {
    private Exec() {
    }

    /** What a finished program printed (stdout and stderr merged). */
    record Result(int exitCode, String output) {
    }

    static Result run(List<String> cmd, Path workDir, Map<String, String> env, Duration timeout)
            throws IOException {
        return run(cmd, workDir, env, timeout, null);
    }

    /**
     * Runs {@code cmd}; fails with its output when it does not finish within {@code timeout}.
     *
     * @param stdin bytes fed to the program's standard input (streamed from this file), or {@code null}
     */
    static Result run(List<String> cmd, Path workDir, Map<String, String> env, Duration timeout, StdinSource stdin)
            throws IOException {
        Path out = Files.createTempFile("vmbackup-exec-", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
            if (workDir != null) {
                pb.directory(workDir.toFile());
            }
            pb.environment().putAll(env);
            if (stdin == null) {
                pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            }
            Process p = pb.start();
            try {
                if (stdin != null) {
                    try (OutputStream os = p.getOutputStream()) {
                        stdin.writeTo(os);
                    } catch (IOException e) {
                        // The program may exit before reading everything (xz stops at the end of its stream).
                    }
                }
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                    throw new IOException(cmd + " did not finish within " + timeout + ": " + tail(out));
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running " + cmd, e);
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Like {@link #run} but fails with the program's output when it exits non-zero. */
    static String check(List<String> cmd, Path workDir, Map<String, String> env, Duration timeout)
            throws IOException {
        Result r = run(cmd, workDir, env, timeout);
        if (r.exitCode() != 0) {
            throw new IOException(cmd + " exited with " + r.exitCode() + ": " + r.output().strip());
        }
        return r.output();
    }

    private static String tail(Path out) {
        try {
            String s = Files.readString(out, StandardCharsets.UTF_8);
            return s.length() <= 2000 ? s : "..." + s.substring(s.length() - 2000);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /** Writes a program's standard input. */
    @FunctionalInterface
    interface StdinSource {
        void writeTo(OutputStream out) throws IOException;
    }

    static void copy(InputStream in, OutputStream out) throws IOException {
        in.transferTo(out);
    }
}
