package org.vmbackup.cli;

import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vmabackup store list STORE [--vm NAME]}: one line per snapshot. */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "List the snapshots: id, disks, logical size (bytes), bytes new in the snapshot.")
final class StoreListCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private StoreLocation store = new StoreLocation();

    @Option(names = "--vm", paramLabel = "NAME", description = "only this VM's snapshots")
    private String vm;

    @Override
    public Integer call() throws Exception {
        if (vm != null) {
            try {
                SnapshotId.checkVmName(vm);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--vm: " + e.getMessage());
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        try (ChunkStore s = store.open()) {
            out.printf("%-45s %5s %16s %16s%n", "SNAPSHOT", "DISKS", "LOGICAL", "NEW");
            for (SnapshotInfo i : s.list(Optional.ofNullable(vm))) {
                out.printf("%-45s %5d %16d %16d%n", i.id(), i.disks().size(), i.logicalDiskSize(), i.bytesNew());
            }
        }
        out.flush();
        return ExitCode.OK;
    }
}
