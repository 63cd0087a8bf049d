package org.vmbackup.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code vmabackup nbd}: Serve images or archives over NBD. */
@Command(name = "nbd", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Serve images or archives over NBD.")
final class NbdCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("vmabackup nbd: not yet implemented in this version");
        return ExitCode.NOT_IMPLEMENTED;
    }
}
