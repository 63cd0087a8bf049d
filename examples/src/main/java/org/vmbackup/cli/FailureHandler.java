package org.vmbackup.cli;

import picocli.CommandLine;

/**
 * Turns an exception from a subcommand into one line on stderr and {@link ExitCode#FAILED}: the command's name and
 * what failed where, in words ({@link FailureMessages}); no stack trace and no Java class names. Set
 * {@code VMABACKUP_DEBUG=1} to see the stack trace.
 */
final class FailureHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        if (FailureMessages.unwrap(e) instanceof InterruptedException) {
            cmd.getErr().println(name(cmd) + ": interrupted");
            return ExitCode.INTERRUPTED;
        }
        if (FailureMessages.unwrap(e) instanceof CommandLine.ParameterException p) {
            // a check that needed the file system or the archive (e.g. an option that does not apply): still usage
            return new UsageErrorHandler().handleParseException(p, new String[0]);
        }
        cmd.getErr().println(name(cmd) + ": " + FailureMessages.describe(e));
        if (System.getenv("VMABACKUP_DEBUG") != null) {
            e.printStackTrace(cmd.getErr());
        }
        cmd.getErr().flush();
        return ExitCode.FAILED;
    }

    /** The subcommand as typed, without the program name: {@code restore}, {@code vma create}, {@code nbd serve}. */
    static String name(CommandLine cmd) {
        String q = cmd.getCommandSpec().qualifiedName();
        int space = q.indexOf(' ');
        return space < 0 ? q : q.substring(space + 1);
    }
}
