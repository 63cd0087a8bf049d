package org.vmbackup.cli;

import java.util.List;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code vmabackup} command: a thin shell over the library, one subcommand per job. */
@Command(name = "vmabackup", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Live backup and restore of running QEMU virtual machines into VMA archives.",
        footerHeading = "%nExit codes:%n",
        footer = {"  0    success", "  1    the operation failed (message on stderr)", "  2    usage error",
            "  3    not implemented in this version", "  130  interrupted"})
public final class VmaBackupCli implements Runnable {
    /** The subcommands, in the order the help lists them. */
    private static final List<Class<?>> SUBCOMMANDS = List.of(BackupCommand.class, RestoreCommand.class,
            VmaCommand.class, NbdCommand.class, QmpCommand.class, StoreCommand.class, BitmapsCommand.class);

    @Spec
    private CommandSpec spec;

    /** Runs the command line and exits the JVM with its exit code. */
    public static void main(String[] args) {
        initLogging();
        S3EarlyOpen.start(args);
        System.exit(execute(args));
    }

    /**
     * Initialises slf4j on this thread, before the command starts others. Its first use otherwise comes from
     * several threads at once (the store opening, S3's early open, netty's QMP connection): slf4j then hands out
     * substitute loggers and replays their calls with three "SLF4J(W)" lines on stderr (every other
     * {@code backup --store}), and one JDK 25 backup failed inside netty's first logger meanwhile.
     */
    static void initLogging() {
        LoggerFactory.getILoggerFactory();
    }

    /** Runs the command line and returns its exit code (for tests and embedding). */
    public static int execute(String... args) {
        CommandLine cli = new CommandLine(new VmaBackupCli());
        subcommandsFor(args).forEach(cli::addSubcommand);
        cli.setExecutionExceptionHandler(new FailureHandler());
        cli.setParameterExceptionHandler(new UsageErrorHandler());
        return cli.execute(args);
    }

    /**
     * Only the subcommand the command line names, when it names one: picocli reflects over every option of every
     * command it is given (and loads ~180 classes of its own, which class data sharing cannot map: their class file
     * version is too old), and a short command such as an incremental backup pays for that at every start. Help,
     * a missing or a mistyped subcommand get all of them, so the listing and picocli's suggestions are unchanged.
     */
    static List<Class<?>> subcommandsFor(String... args) {
        if (args.length > 0) {
            for (Class<?> c : SUBCOMMANDS) {
                if (c.getAnnotation(Command.class).name().equals(args[0])) {
                    return List.of(c);
                }
            }
        }
        return SUBCOMMANDS;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }
}
