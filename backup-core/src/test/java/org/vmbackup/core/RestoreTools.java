package org.vmbackup.core;

import java.io.IOException;
import java.time.Duration;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;

/** Runs an external tool of the ITs and returns its output; a non-zero exit fails with that output. */
final class RestoreTools {
    private RestoreTools() {
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        Result r = exec(cmd);
        if (r.exit != 0) {
            throw new AssertionError(String.join(" ", cmd) + " exited " + r.exit + ": " + r.output);
        }
        return r.output;
    }

    record Result(int exit, String output) {
    }

    static Result exec(String... cmd) throws IOException, InterruptedException {
        ProcessResult r = ProcessRunner.command(cmd).mergeStderr().timeout(Duration.ofMinutes(5)).run();
        return new Result(r.exitCode(), r.stdout());
    }
}
