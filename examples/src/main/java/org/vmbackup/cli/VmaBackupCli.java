package org.vmbackup.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code vmabackup} command: a thin shell over the library, one subcommand per job. */
@Command(name = "vmabackup", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Live backup and restore of running QEMU virtual machines into VMA archives.",
        subcommands = {BackupCommand.class, RestoreCommand.class, VmaCommand.class, NbdCommand.class,
            QmpCommand.class, StoreCommand.class, BitmapsCommand.class},
        footerHeading = "%nExit codes:%n",
        footer = {"  0    success", "  1    the operation failed (message on stderr)", "  2    usage error",
            "  3    not implemented in this version", "  130  interrupted"})
public final class VmaBackupCli implements Runnable {
    @Spec
    private CommandSpec spec;

    /** Runs the command line and exits the JVM with its exit code. */
    public static void main(String[] args) {
        S3EarlyOpen.start(args);
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code (for tests and embedding). */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new VmaBackupCli());
        cli.setExecutionExceptionHandler(new FailureHandler());
        cli.setParameterExceptionHandler(new UsageErrorHandler());
        return cli.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }
}
