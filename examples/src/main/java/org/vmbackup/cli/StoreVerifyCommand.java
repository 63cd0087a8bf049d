package org.vmbackup.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.VerifyProgress;
import org.vmbackup.store.VerifyReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmabackup store verify STORE [SNAPSHOT]... [--key FILE] [--bwlimit RATE]}: re-reads and re-hashes every chunk; one
 * progress line per snapshot on stderr (with --progress, or on a terminal), each damaged object on stdout, and exit 1 with a one-line summary naming
 * the first.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Re-read and re-hash every chunk of the snapshots (all when none is named).")
final class StoreVerifyCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private StoreLocation.Limited store = new StoreLocation.Limited();

    @Parameters(index = "1..*", paramLabel = "SNAPSHOT", description = "snapshot ids (VM/INSTANT)")
    private List<String> snapshots = new ArrayList<>();

    @Option(names = "--progress", negatable = true, description = "a line per snapshot on stderr as it is done "
            + "(default: only when run on a terminal)")
    private Boolean progress;

    @Override
    public Integer call() throws Exception {
        List<SnapshotId> ids = new ArrayList<>();
        for (String text : snapshots) {
            ids.add(new StoreCommand.SnapshotIdConverter().convert(text, spec.commandLine()));
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Consumer<VerifyProgress> printer = p -> {
            err.printf("verified %d of %d: %s (%d chunks, %d MiB checked so far%s)%n", p.done(), p.total(),
                    p.snapshot(), p.chunksChecked(), p.bytesChecked() >> 20,
                    p.damaged() == 0 ? "" : ", " + p.damaged() + " problems");
            err.flush();
        };
        boolean show = progress != null ? progress : System.console() != null;
        VerifyReport r;
        try (ChunkStore s = store.open()) {
            r = show ? s.verify(ids, printer) : s.verify(ids);
        }
        for (VerifyReport.Damage d : r.damage()) {
            out.println("damaged: " + d);
        }
        out.println("checked " + r.snapshots().size() + " snapshots, " + r.chunksChecked() + " chunks, "
                + r.bytesChecked() + " bytes: " + (r.ok() ? "ok" : r.damage().size() + " problems"));
        out.flush();
        if (!r.ok()) {
            throw new CliFailure("store " + store.location() + " is damaged: " + r.damage().get(0)
                    + (r.damage().size() > 1 ? " (and " + (r.damage().size() - 1) + " more, listed on stdout)" : ""));
        }
        return ExitCode.OK;
    }
}
