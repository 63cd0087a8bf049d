package org.vmbackup.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.vmbackup.core.BackupBitmaps;
import org.vmbackup.core.BackupBitmaps.Bitmap;
import org.vmbackup.core.BackupBitmaps.Removal;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpClientOptions;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vmabackup bitmaps list|remove --qmp SOCKET [--store STORE [--vm NAME]]}: the dirty bitmaps that
 * {@code backup --store} keeps in QEMU for the next incremental backup. Only bitmaps named by us are ever listed or
 * removed; other tools' bitmaps are left alone.
 */
@Command(name = "bitmaps", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "List or remove the dirty bitmaps that backup --store keeps in QEMU for incremental backups "
                + "(only ours: vmbackup-STOREID-VM-INSTANT; other tools' bitmaps are never touched).",
        subcommands = {BitmapsCommand.ListBitmaps.class, BitmapsCommand.RemoveBitmaps.class})
final class BitmapsCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (list, remove)");
    }

    /** The options both subcommands take: which QEMU, and which store's (and VM's) bitmaps. */
    static final class Selection {
        @Option(names = "--qmp", required = true, paramLabel = "SOCKET", description = "the VM's QMP unix socket")
        Path qmp;

        @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "0",
                description = "wait up to SECONDS for the QMP socket (a QEMU still starting); default: ${DEFAULT-VALUE}")
        long waitSeconds;

        @Option(names = "--store", paramLabel = "STORE",
                description = "only the bitmaps made for this store (directory or s3://BUCKET/PREFIX)")
        String store;

        @Option(names = "--vm", paramLabel = "NAME", description = "with --store: only this VM's bitmaps")
        String vm;

        @Option(names = "--key", paramLabel = "FILE", description = "with --store: the key of an encrypted store")
        Path key;

        void check(CommandSpec spec) {
            OptionChecks.range(spec, "--wait", waitSeconds, 0, OptionChecks.DAY_SECONDS);
            if (store == null && (vm != null || key != null)) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        (vm != null ? "--vm" : "--key") + " only applies with --store");
            }
            if (vm != null) {
                try {
                    SnapshotId.checkVmName(vm);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--vm: " + e.getMessage());
                }
            }
        }

        QmpClient connect() throws Exception {
            return QmpConnect.connect(qmp, Duration.ofSeconds(waitSeconds), QmpClientOptions.DEFAULT_CONNECT_TIMEOUT);
        }

        ChunkStore open() throws Exception {
            return store == null ? null : StoreLocation.open(store, key);
        }
    }

    private static void print(PrintWriter out, List<Bitmap> bitmaps, String state) {
        for (Bitmap b : bitmaps) {
            out.printf("%-12s %-52s %-45s %14d %s%n", b.device().isEmpty() ? b.node() : b.device(), b.name(),
                    b.snapshot(), b.dirtyBytes(), state == null ? (b.busy() ? "busy" : "") : state);
        }
    }

    /** {@code bitmaps list}: one line per bitmap of ours; with {@code --store}, whether its snapshot is still there. */
    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List our bitmaps: drive, bitmap, the snapshot it started with, dirty bytes; with --store "
                    + "also whether that snapshot is still in the store (a stale bitmap is of no use to a backup).")
    static final class ListBitmaps implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Mixin
        private Selection sel;

        @Override
        public Integer call() throws Exception {
            sel.check(spec);
            PrintWriter out = spec.commandLine().getOut();
            try (QmpClient q = sel.connect(); ChunkStore s = sel.open()) {
                out.printf("%-12s %-52s %-45s %14s %s%n", "DRIVE", "BITMAP", "SNAPSHOT", "DIRTY", "STATE");
                if (s == null) {
                    print(out, BackupBitmaps.list(q), null);
                } else {
                    List<Bitmap> all = BackupBitmaps.list(q, s, Optional.ofNullable(sel.vm));
                    // while a backup runs, its new bitmap's snapshot is not committed yet: not stale, not known
                    boolean running = BackupBitmaps.runningBackupJob(q).isPresent();
                    List<Bitmap> missing = BackupBitmaps.notInStore(all, s, Optional.ofNullable(sel.vm));
                    print(out, all.stream().filter(b -> !missing.contains(b)).toList(), "in store");
                    print(out, missing, running ? "not in store yet (a backup is running; may be its new bitmap)"
                            : "stale: snapshot not in store");
                }
            }
            out.flush();
            return ExitCode.OK;
        }
    }

    /** {@code bitmaps remove}: removes the selected bitmaps of ours; the next backup of those disks is full. */
    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = "Remove our bitmaps: those of --store (and --vm), only the stale ones with --stale, or "
                    + "every store's with --all. The next backup of a disk whose bitmap was removed copies it in full.")
    static final class RemoveBitmaps implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Mixin
        private Selection sel;

        @Option(names = "--stale", description = "with --store: only bitmaps whose snapshot is no longer in the "
                + "store (pruned, or its backup failed)")
        private boolean stale;

        @Option(names = "--all", description = "without --store: our bitmaps of every store and VM")
        private boolean all;

        @Option(names = "--dry-run", description = "only say what would be removed")
        private boolean dryRun;

        @Override
        public Integer call() throws Exception {
            sel.check(spec);
            if (sel.store == null && !all) {
                throw new CommandLine.ParameterException(spec.commandLine(), "say which bitmaps: --store STORE "
                        + "[--vm NAME] [--stale], or --all for ours of every store");
            }
            if (sel.store != null && all) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--all and --store exclude each other");
            }
            if (stale && sel.store == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--stale only applies with --store");
            }
            PrintWriter out = spec.commandLine().getOut();
            try (QmpClient q = sel.connect(); ChunkStore s = sel.open()) {
                Optional<String> vm = Optional.ofNullable(sel.vm);
                List<Bitmap> which = s == null ? BackupBitmaps.list(q)
                        : stale ? BackupBitmaps.stale(q, s, vm) : BackupBitmaps.list(q, s, vm);
                if (dryRun) {
                    which.forEach(b -> out.println("would remove " + b.name() + " on " + b.node()));
                    out.flush();
                    return ExitCode.OK;
                }
                Removal r = BackupBitmaps.remove(q, which);
                r.removed().forEach(b -> out.println("removed " + b.name() + " on " + b.node()));
                out.flush();
                if (!r.failed().isEmpty()) {
                    throw new CliFailure("could not remove " + r.failed().size() + " bitmap(s): "
                            + String.join("; ", r.failed()));
                }
                if (which.isEmpty()) {
                    out.println("no bitmap of ours matched");
                }
            }
            out.flush();
            return ExitCode.OK;
        }
    }
}
