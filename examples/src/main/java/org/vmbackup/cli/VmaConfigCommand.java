package org.vmbackup.cli;

import java.util.concurrent.Callable;
import org.vmbackup.vma.VmaConfig;
import org.vmbackup.vma.VmaReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vmabackup vma config ARCHIVE [-c NAME]}: one config blob, raw, on stdout. */
@Command(name = "config", mixinStandardHelpOptions = true, description = "Write one config blob to stdout.")
final class VmaConfigCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ARCHIVE", description = "the archive (- for stdin)")
    private String archive;

    @Option(names = "-c", paramLabel = "NAME", defaultValue = "qemu-server.conf",
            description = "the config name (default: ${DEFAULT-VALUE})")
    private String name;

    @Override
    public Integer call() throws Exception {
        try (VmaReader r = VmaCommand.openReader(archive)) {
            VmaConfig c = r.header().config(name).orElseThrow(() -> new CliFailure(
                    "unable to find configuration data '" + name + "'"));
            System.out.write(c.data());
            System.out.flush();
        }
        return ExitCode.OK;
    }
}
