package org.vmbackup.cli;

import java.util.concurrent.Callable;
import org.vmbackup.store.SnapshotId;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code vmabackup store}: create and look after a deduplicating chunk store (init, key create, list, verify,
 * prune, gc). Backups go into a store with {@code backup --store}, restores come out of it with
 * {@code restore STORE --snapshot ID}.
 */
@Command(name = "store", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Create and look after a deduplicating chunk store of VM snapshots.",
        subcommands = {StoreInitCommand.class, StoreKeyCommand.class, StoreListCommand.class, StoreVerifyCommand.class,
            StorePruneCommand.class, StoreGcCommand.class, StoreExportCommand.class,
            StoreImportCommand.class})
public final class StoreCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (init, key, list, verify, "
                + "prune, gc)");
    }

    /** Turns {@code VM/INSTANT} arguments into snapshot ids; a bad one is a usage error naming what is wrong. */
    static final class SnapshotIdConverter {
        SnapshotId convert(String value, CommandLine cmd) {
            try {
                return SnapshotId.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage());
            }
        }
    }
}
