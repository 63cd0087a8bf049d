package org.vmbackup.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.vmbackup.core.ArchiveCopy;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.core.ArchiveTarget;
import org.vmbackup.core.StoreTarget;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmabackup store import STORE ARCHIVE --vm NAME [--key FILE] [--bwlimit RATE]}: a VMA archive (plain, zstd or gzip) or a
 * directory archive becomes a snapshot of NAME at the archive's backup instant; it is listed only once the whole
 * archive was read and checked. Prints the snapshot id on stdout.
 */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Turn a VMA archive or a directory archive into a snapshot; prints its id.")
final class StoreImportCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private StoreLocation.Limited store = new StoreLocation.Limited();

    @Parameters(index = "1", paramLabel = "ARCHIVE",
            description = "a VMA archive (.vma, .vma.zst, .vma.gz) or a directory archive")
    private Path archive;

    @Option(names = "--vm", required = true, paramLabel = "NAME", description = "the VM the snapshot belongs to")
    private String vm;

    @Override
    public Integer call() throws Exception {
        try {
            SnapshotId.checkVmName(vm);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--vm: " + e.getMessage());
        }
        InputPaths.archiveOrDirectory(archive);
        long t0 = System.nanoTime();
        SnapshotInfo info;
        PrintWriter err = spec.commandLine().getErr();
        try (ChunkStore s = store.open(); ArchiveSource src = ArchiveSource.open(archive)) {
            StoreTarget target = ArchiveTarget.store(s, vm);
            ArchiveCopy.copy(src, target, new RestoreProgressPrinter(err));
            info = target.committed().orElseThrow();
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(info.id());
        out.flush();
        err.printf("Imported %s as %s: %d disk(s), %d bytes logical, %d bytes new, in %.2f s%n", archive, info.id(),
                info.disks().size(), info.logicalDiskSize(), info.bytesNew(), (System.nanoTime() - t0) / 1e9);
        err.flush();
        return ExitCode.OK;
    }
}
