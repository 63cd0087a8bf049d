package org.vmbackup.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code vmabackup backup}: Back up a running QEMU VM (disks and RAM) into an archive. */
@Command(name = "backup", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Back up a running QEMU VM (disks and RAM) into an archive.")
final class BackupCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("vmabackup backup: not yet implemented in this version");
        return ExitCode.NOT_IMPLEMENTED;
    }
}
