package org.vmbackup.cli;

import java.time.ZoneId;
import java.util.concurrent.Callable;
import org.vmbackup.vma.VmaListing;
import org.vmbackup.vma.VmaReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vmabackup vma list ARCHIVE}: the table of contents in the reference tool's line format. */
@Command(name = "list", mixinStandardHelpOptions = true, description = "Print the configs, devices and ctime.")
final class VmaListCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ARCHIVE", description = "the archive (- for stdin)")
    private String archive;

    @Override
    public Integer call() throws Exception {
        try (VmaReader r = VmaCommand.openReader(archive)) {
            VmaListing.lines(r.header(), ZoneId.systemDefault()).forEach(spec.commandLine().getOut()::println);
        }
        spec.commandLine().getOut().flush();
        return ExitCode.OK;
    }
}
