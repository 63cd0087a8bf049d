package org.vmbackup.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code vmabackup restore}: Restore disks or a whole running VM from an archive. */
@Command(name = "restore", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Restore disks or a whole running VM from an archive.")
final class RestoreCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("vmabackup restore: not yet implemented in this version");
        return ExitCode.NOT_IMPLEMENTED;
    }
}
