package org.vmbackup.cli;

/**
 * The exit codes of {@code vmabackup}, documented in the README. Scripts may rely on them.
 */
public final class ExitCode {
    /** The command did what was asked. */
    public static final int OK = 0;
    /** The operation failed: bad archive, QEMU error, I/O error. A one-line message says what and where. */
    public static final int FAILED = 1;
    /** The command line was wrong (unknown option, missing argument). */
    public static final int USAGE = 2;
    /** The subcommand exists but is not implemented in this version. */
    public static final int NOT_IMPLEMENTED = 3;
    /** Interrupted (SIGINT/SIGTERM) before it finished; nothing is left under the final name. */
    public static final int INTERRUPTED = 130;

    private ExitCode() {
    }
}
