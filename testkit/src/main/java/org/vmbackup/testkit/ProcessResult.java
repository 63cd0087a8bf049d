package org.vmbackup.testkit;

import java.util.List;

/**
 * How a program run by {@link ProcessRunner} ended.
 *
 * @param command the command line
 * @param exitCode its exit code
 * @param stdout what it wrote on stdout (UTF-8), with stderr when merged
 * @param stderr what it wrote on stderr (empty when merged into stdout)
 */
public record ProcessResult(List<String> command, int exitCode, String stdout, String stderr) {
    /** stdout followed by stderr: for assertions on a message wherever the tool printed it. */
    public String output() {
        return stderr.isEmpty() ? stdout : stdout + stderr;
    }

    /**
     * This result if the exit code is 0.
     *
     * @throws ProcessRunnerException naming the command, the exit code and the output otherwise
     */
    public ProcessResult requireSuccess() throws ProcessRunnerException {
        if (exitCode != 0) {
            throw new ProcessRunnerException(command, "exited with " + exitCode, output(), null);
        }
        return this;
    }
}
