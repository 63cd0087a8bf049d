package org.vmbackup.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code vmabackup qmp}: Send a QMP command to QEMU or print its events. */
@Command(name = "qmp", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Send a QMP command to QEMU or print its events.")
final class QmpCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("vmabackup qmp: not yet implemented in this version");
        return ExitCode.NOT_IMPLEMENTED;
    }
}
