package org.vmbackup.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.PruneResult;
import org.vmbackup.store.RetentionPolicy;
import org.vmbackup.store.SnapshotId;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vmabackup store prune STORE --vm NAME --keep-last N [--keep-daily N] ... [--dry-run]}. */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = "Remove the VM's snapshots the retention rules do not keep (their chunks go at the next gc).")
final class StorePruneCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private StoreLocation store = new StoreLocation();

    @Option(names = "--vm", required = true, paramLabel = "NAME", description = "the VM")
    private String vm;

    @Option(names = "--keep-last", required = true, paramLabel = "N", description = "keep the N newest snapshots")
    private int keepLast;

    @Option(names = "--keep-daily", paramLabel = "N", description = "keep the newest of each of the last N days")
    private int keepDaily;

    @Option(names = "--keep-weekly", paramLabel = "N", description = "keep the newest of each of the last N weeks")
    private int keepWeekly;

    @Option(names = "--keep-monthly", paramLabel = "N", description = "keep the newest of each of the last N months")
    private int keepMonthly;

    @Option(names = "--dry-run", description = "only say what would be removed")
    private boolean dryRun;

    @Override
    public Integer call() throws Exception {
        RetentionPolicy policy;
        try {
            SnapshotId.checkVmName(vm);
            policy = new RetentionPolicy(keepLast, keepDaily, keepWeekly, keepMonthly);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        try (ChunkStore s = store.open()) {
            PruneResult r = s.prune(vm, policy, dryRun);
            r.kept().forEach(id -> out.println("keep   " + id));
            r.removed().forEach(id -> out.println((dryRun ? "would remove " : "remove ") + id));
        }
        out.flush();
        return ExitCode.OK;
    }
}
