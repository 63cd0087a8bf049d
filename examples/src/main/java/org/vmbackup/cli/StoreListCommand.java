package org.vmbackup.cli;

import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.SnapshotListing;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vmabackup store list STORE [--vm NAME]}: one line per snapshot. */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "List the snapshots: id, disks, logical size (bytes), bytes new in the snapshot. A snapshot "
                + "whose manifest is damaged is named (exit code 1); the others are listed all the same.")
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
            SnapshotListing listing = s.listing(Optional.ofNullable(vm));
            for (SnapshotInfo i : listing.snapshots()) {
                out.printf("%-45s %5d %16d %16d%n", i.id(), i.disks().size(), i.logicalDiskSize(), i.bytesNew());
            }
            // the readable ones are listed all the same: one damaged manifest must not hide the others
            listing.damaged().forEach((id, why) -> out.println("damaged: " + why));
            out.flush();
            if (!listing.damaged().isEmpty()) {
                int n = listing.damaged().size();
                throw new CliFailure("store " + store.location() + " is damaged: "
                        + listing.damaged().values().iterator().next() + (n > 1 ? " (and " + (n - 1) + " more, listed on stdout)" : ""));
            }
        }
        return ExitCode.OK;
    }
}
