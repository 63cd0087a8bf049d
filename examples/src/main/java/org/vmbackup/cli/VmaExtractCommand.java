package org.vmbackup.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.vmbackup.vma.VmaExtractResult;
import org.vmbackup.vma.VmaExtractor;
import org.vmbackup.vma.VmaListing;
import org.vmbackup.vma.VmaReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vmabackup vma extract ARCHIVE|- TARGETDIR [-v] [-d dev,dev]}: configs and sparse raw disk images. */
@Command(name = "extract", mixinStandardHelpOptions = true,
        description = "Extract configs, disk-<devname>.raw images and vmstate.bin into a new directory.")
final class VmaExtractCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ARCHIVE", description = "the archive (- for stdin)")
    private String archive;

    @Parameters(index = "1", paramLabel = "TARGETDIR", description = "the directory to create (must not exist)")
    private Path targetDir;

    @Option(names = "-d", paramLabel = "DEVNAME[,DEVNAME...]", split = ",",
            description = "extract only these devices")
    private List<String> devices = List.of();

    @Option(names = "-v", description = "print the table of contents first (the CFG/DEV/VMSTATE/CTIME lines qmrestore "
            + "reads from Proxmox's vma extract -v -r) and statistics at the end")
    private boolean verbose;

    @Override
    public Integer call() throws Exception {
        // the target is checked before the archive is read: a typo costs no time, and nothing is created
        InputPaths.creatable("target directory", targetDir);
        return RestoreFailures.leavingNothing(targetDir, archive, this::extract);
    }

    private int extract() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Set<String> only = new LinkedHashSet<>(devices);
        long start = System.nanoTime();
        try (VmaReader r = VmaCommand.openReader(archive)) {
            if (verbose) {
                // qmrestore maps devices to volumes from these lines (restore_vma_archive's parser): print them
                // before any data is read, as Proxmox's vma does when a restore runs it
                VmaListing.lines(r.header(), ZoneId.systemDefault()).forEach(out::println);
                out.flush();
            }
            VmaExtractResult res = VmaExtractor.extract(r, targetDir, only, out::println);
            if (verbose) {
                double secs = (System.nanoTime() - start) / 1e9;
                double pct = res.deviceBytes() == 0 ? 0 : 100.0 * res.sparseBytes() / res.deviceBytes();
                out.printf("progress 100%% (read %d bytes, duration %d sec)%n", res.bytesRead(), (long) secs);
                out.printf("total bytes read %d, sparse bytes %d (%.3g%%)%n", res.deviceBytes(), res.sparseBytes(), pct);
                out.printf("space reduction due to 4K zero blocks %.3g%%%n", pct);
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
