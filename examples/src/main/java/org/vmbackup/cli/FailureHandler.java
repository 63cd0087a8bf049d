package org.vmbackup.cli;

import picocli.CommandLine;

/**
 * Turns an exception from a subcommand into one line on stderr and {@link ExitCode#FAILED}: expected failures
 * (bad archive, QEMU refusing a command, I/O errors) print no stack trace. Set {@code VMABACKUP_DEBUG=1} to
 * see one.
 */
final class FailureHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        if (e instanceof InterruptedException) {
            cmd.getErr().println(cmd.getCommandName() + ": interrupted");
            return ExitCode.INTERRUPTED;
        }
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        cmd.getErr().println(cmd.getCommandName() + ": " + msg);
        if (System.getenv("VMABACKUP_DEBUG") != null) {
            e.printStackTrace(cmd.getErr());
        }
        return ExitCode.FAILED;
    }
}
