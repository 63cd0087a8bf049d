package org.vmbackup.testkit;

import java.io.IOException;
import java.util.List;

/** A program run by {@link ProcessRunner} did not start, did not exit in time, or (when required) failed. */
public final class ProcessRunnerException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The output so far, kept out of the message's first line. */
    private final String output;

    ProcessRunnerException(List<String> command, String what, String output, Throwable cause) {
        super(String.join(" ", command) + ": " + what + (output.isEmpty() ? "" : "; output:\n" + output), cause);
        this.output = output;
    }

    /** What the program wrote before it failed or was killed (stdout, then stderr). */
    public String output() {
        return output;
    }
}
