package org.vmbackup.cli;

import java.util.concurrent.Callable;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.GcResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code vmabackup store gc STORE}: deletes chunks no snapshot needs; safe while backups run. */
@Command(name = "gc", mixinStandardHelpOptions = true,
        description = "Delete the chunks no snapshot needs (safe while backups run; one gc at a time).")
final class StoreGcCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private StoreLocation store = new StoreLocation();

    @Override
    public Integer call() throws Exception {
        try (ChunkStore s = store.open()) {
            GcResult g = s.gc();
            spec.commandLine().getOut().println("gc: " + g.chunksInUse() + " chunks in use, " + g.chunksRemoved()
                    + " removed (" + g.bytesRemoved() + " bytes), " + g.chunksSpared() + " unused but spared (touched "
                    + "within the grace period), " + g.leftoversRemoved() + " leftovers removed");
        }
        spec.commandLine().getOut().flush();
        return ExitCode.OK;
    }
}
