package org.vmbackup.cli;

import java.io.PrintWriter;
import java.time.ZoneId;
import java.util.concurrent.Callable;
import org.vmbackup.vma.VmaListing;
import org.vmbackup.vma.VmaReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vmabackup vma verify ARCHIVE [-v]}: reads and checks everything, including completeness, writes nothing. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Check the whole archive (checksums, bounds, duplicates, completeness) without writing.")
final class VmaVerifyCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ARCHIVE", description = "the archive (- for stdin)")
    private String archive;

    @Option(names = "-v", description = "print the table of contents and statistics")
    private boolean verbose;

    @Override
    public Integer call() throws Exception {
        return RestoreFailures.leavingNothing(null, archive, this::verify);
    }

    private int verify() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (VmaReader r = VmaCommand.openReader(archive)) {
            if (verbose) {
                VmaListing.lines(r.header(), ZoneId.systemDefault()).forEach(out::println);
            }
            long[] stored = new long[1];
            r.readAll((dev, cluster, mask, blocks) -> stored[0] += blocks.remaining());
            if (verbose) {
                out.println("verified " + r.extentCount() + " extents, total bytes read " + r.position()
                        + ", stored data bytes " + stored[0]);
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
