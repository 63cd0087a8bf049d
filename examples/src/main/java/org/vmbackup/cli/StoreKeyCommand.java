package org.vmbackup.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.vmbackup.store.StoreKey;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vmabackup store key create FILE}. */
@Command(name = "key", mixinStandardHelpOptions = true, description = "Manage store keys.",
        subcommands = StoreKeyCommand.Create.class)
final class StoreKeyCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (create)");
    }

    /** {@code store key create FILE}: a new random key, mode 0600. */
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a new random key in FILE (mode 0600; never overwrites). Keep a copy elsewhere: "
                    + "without it an encrypted store cannot be read.")
    static final class Create implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Parameters(index = "0", paramLabel = "FILE", description = "the key file to create")
        private Path file;

        @Override
        public Integer call() throws Exception {
            StoreKey.create(file);
            spec.commandLine().getOut().println("created key " + file + " (keep a copy: without it the store's data "
                    + "cannot be read)");
            return ExitCode.OK;
        }
    }
}
