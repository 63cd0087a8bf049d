package org.vmbackup.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZoneId;
import java.util.concurrent.Callable;
import org.vmbackup.core.ArchiveCopy;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.core.ArchiveTarget;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmabackup store export STORE SNAPSHOT (OUT.vma[.zst|.gz] | --proxmox VMID --dump-dir DIR [...]) [--key FILE] [--bwlimit RATE]}:
 * a snapshot as a VMA archive that Proxmox's {@code vma} reads, or in vzdump's layout for {@code qmrestore}; every
 * chunk is checked on the way, and the archive appears only when the whole snapshot was read.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a snapshot as a VMA archive (.vma, .vma.zst, .vma.gz) or a directory archive.")
final class StoreExportCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private StoreLocation.Limited store = new StoreLocation.Limited();

    @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "the snapshot id (VM/INSTANT)")
    private String snapshot;

    @Parameters(index = "2", arity = "0..1", paramLabel = "OUT",
            description = "the archive to create: .vma, .vma.zst, .vma.gz, or a directory name; must not exist "
                    + "(or --proxmox)")
    private Path out;

    @Mixin
    private ProxmoxBackupOptions proxmox = new ProxmoxBackupOptions();

    @Override
    public Integer call() throws Exception {
        SnapshotId id = new StoreCommand.SnapshotIdConverter().convert(snapshot, spec.commandLine());
        proxmox.check(spec, out);
        if (!proxmox.enabled()) {
            InputPaths.creatable("archive", out);
        }
        PrintWriter err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        String written;
        try (ChunkStore s = store.open(); ArchiveSource src = ArchiveSource.snapshot(s, id)) {
            // a Proxmox archive is named by the snapshot's time, as vzdump names a backup by its own
            ArchiveTarget target = proxmox.enabled()
                    ? proxmox.target(null, Clock.fixed(id.instant(), ZoneId.systemDefault())) : ArchiveTarget.of(out);
            written = ArchiveCopy.copy(src, target, new RestoreProgressPrinter(err));
        }
        err.printf("Exported %s to %s in %.2f s%n", id, written, (System.nanoTime() - t0) / 1e9);
        err.flush();
        return ExitCode.OK;
    }
}
