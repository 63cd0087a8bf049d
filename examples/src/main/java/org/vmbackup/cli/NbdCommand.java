package org.vmbackup.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code vmabackup nbd}: Serve images or archives over NBD (see the {@code serve} subcommand). */
@Command(name = "nbd", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Serve images or archives over NBD.", subcommands = {NbdServeCommand.class})
final class NbdCommand implements Runnable {
    @Spec
    private CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (try: nbd serve --help)");
    }
}
