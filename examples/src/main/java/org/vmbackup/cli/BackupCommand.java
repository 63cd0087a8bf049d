package org.vmbackup.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.vmbackup.core.ArchiveTarget;
import org.vmbackup.core.BackupResult;
import org.vmbackup.core.BackupSession;
import org.vmbackup.core.ConfigBlob;
import org.vmbackup.core.FsFreeze;
import org.vmbackup.core.StoreTarget;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpClientOptions;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmabackup backup --qmp SOCKET [--wait SECONDS] [--no-vmstate] [--disk NAME]... [-c CONFIGFILE]...
 * [--bwlimit RATE] [--cbw-timeout SECONDS] [--fs-freeze[=try] [--qga SOCKET] [--freeze-timeout SECONDS]]
 * (ARCHIVE | --store STORE --vm NAME [--key FILE] [--full] | --proxmox VMID --dump-dir DIR [--proxmox-conf FILE] [--notes TEXT]
 * [--drive-key DISK=KEY]...)}: a consistent live backup of a running QEMU VM (every writable disk and, by default, RAM
 * and device state) into a VMA archive ({@code .vma}, {@code .vma.zst}, {@code .vma.gz}), for any other name a
 * directory of raw images, a new snapshot in a chunk store, or a vzdump archive for Proxmox VE.
 */
@Command(name = "backup", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Back up a running QEMU VM (disks and RAM) into an archive.",
        footerHeading = "%nExit codes:%n",
        footer = {"  0    the archive is complete under its name (the snapshot is in the store)",
            "  1    the backup failed (message on stderr); "
            + "nothing is left under ARCHIVE, no snapshot is listed, the guest keeps running", "  2    usage error",
            "  130  interrupted: the backup was cancelled cleanly"})
final class BackupCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--qmp", required = true, paramLabel = "SOCKET", description = "the VM's QMP unix socket")
    private Path qmp;

    @Option(names = "--no-vmstate", description = "disks only: no RAM/device state, and no guest pause at all")
    private boolean noVmstate;

    @Option(names = "--disk", paramLabel = "NAME",
            description = "back up this disk (device or node name; repeatable); default: every writable disk")
    private List<String> disks = new ArrayList<>();

    @Option(names = {"-c", "--config"}, paramLabel = "CONFIGFILE",
            description = "embed this file as a config blob (repeatable); vm.json describing the VM is always added")
    private List<Path> configs = new ArrayList<>();

    @Option(names = "--bwlimit", paramLabel = "RATE", converter = BandwidthConverter.class, defaultValue = "0",
            description = "limit the disks' copy (QEMU's job speed, split between the disks) to RATE: "
                    + BandwidthConverter.HELP + ". The VM state is not limited: a slower RAM stream would stall "
                    + "guest writes to RAM not yet saved; the guest pause does not change")
    private long bwlimit;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "0",
            description = "wait up to SECONDS for the QMP socket to appear and accept connections (a QEMU still "
                    + "starting); default: ${DEFAULT-VALUE}, a missing or refusing socket fails at once")
    private long waitSeconds;

    @Option(names = "--cbw-timeout", paramLabel = "SECONDS", converter = SecondsConverter.class,
            defaultValue = "" + BackupSession.DEFAULT_CBW_TIMEOUT_SECONDS,
            description = "the longest a guest write may wait for the archive; an archive slower than that (or "
                + "failing) fails the backup naming the disk instead of holding or failing the guest's write "
                + "(default: ${DEFAULT-VALUE})")
    private Duration cbwTimeout;

    // Two flags rather than picocli's optional option value, which would take a following ARCHIVE as the value.
    @Option(names = "--fs-freeze",
            description = "freeze the guest's file systems through the QEMU guest agent around the backup's "
                    + "instant (application-consistent; thawed right after the guest pause); without an answering "
                    + "agent the backup fails before the guest is touched")
    private boolean fsFreeze;

    @Option(names = "--fs-freeze=try",
            description = "freeze as --fs-freeze if the guest agent answers, else go on with a crash-consistent "
                    + "backup that says so")
    private boolean fsFreezeTry;

    @Option(names = "--qga", paramLabel = "SOCKET",
            description = "the guest agent's unix socket (default: the VM's org.qemu.guest_agent.0 channel, found "
                    + "through QMP); with --fs-freeze")
    private Path qga;

    @Option(names = "--freeze-timeout", paramLabel = "SECONDS", converter = SecondsConverter.class,
            defaultValue = "" + BackupSession.DEFAULT_FREEZE_TIMEOUT_SECONDS,
            description = "the longest the guest's file systems may stay frozen: a watchdog thaws them then, and a "
                    + "freeze that did not hold until the instant fails the backup (default: ${DEFAULT-VALUE})")
    private Duration freezeTimeout;

    @Mixin
    private ProxmoxBackupOptions proxmox = new ProxmoxBackupOptions();

    @Parameters(index = "0", arity = "0..1", paramLabel = "ARCHIVE",
            description = "the archive to create: .vma, .vma.zst, .vma.gz, or a directory name; must not exist "
                    + "(or --store, or --proxmox)")
    private Path archive;

    @Option(names = "--store", paramLabel = "STORE",
            description = "back up into this chunk store (vmabackup store init) as a new snapshot of --vm, instead "
                    + "of an ARCHIVE; prints the snapshot id")
    private String store;

    @Option(names = "--vm", paramLabel = "NAME", description = "with --store: the VM the snapshot belongs to")
    private String vm;

    @Option(names = "--key", paramLabel = "FILE", description = "with --store: the key of an encrypted store")
    private Path key;

    @Option(names = "--full", description = "with --store: copy every disk in full, even where QEMU's dirty "
            + "bitmap would allow an incremental copy (the next backup is incremental again)")
    private boolean full;

    @Override
    public Integer call() throws Exception {
        OptionChecks.range(spec, "--wait", waitSeconds, 0, OptionChecks.DAY_SECONDS);
        if (qga != null && !fsFreeze && !fsFreezeTry) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--qga names the guest agent for --fs-freeze: add --fs-freeze or --fs-freeze=try");
        }
        checkDestination();
        PrintWriter out = spec.commandLine().getOut();
        // Everything on the command line is checked before QEMU is touched: no guest pause for a typo.
        List<ConfigBlob> blobs = new ArrayList<>();
        for (Path c : configs) {
            InputPaths.readable("config file", c);
            blobs.add(new ConfigBlob(c.getFileName().toString(), Files.readAllBytes(c)));
        }
        if (store == null) {
            proxmox.check(spec, archive);
            if (!proxmox.enabled()) {
                InputPaths.creatable("archive", archive);
                return connectAndBackUp(out, blobs, client -> ArchiveTarget.of(archive));
            }
            return connectAndBackUp(out, blobs, proxmox::target);
        }
        return backUpIntoStore(out, blobs);
    }

    /**
     * The store is opened (and its key checked) before QEMU is touched; the QMP connection is made meanwhile (it
     * changes nothing in QEMU). A store that cannot be opened is the error reported, even if QEMU is missing too.
     */
    private int backUpIntoStore(PrintWriter out, List<ConfigBlob> blobs) throws Exception {
        try (StoreOpening opening = StoreOpening.start(store, key)) {
            QmpClient client;
            try {
                client = connect();
            } catch (Exception e) {
                opening.take().close();
                throw e;
            }
            // the backup's first check reads QEMU's schema (hundreds of KB of JSON): asked for now, it is parsed
            // on the QMP client's thread while this one waits for the store and builds the session
            client.schema();
            try (client; ChunkStore s = opening.take()) {
                StoreTarget target = full ? ArchiveTarget.store(s, vm).full() : ArchiveTarget.store(s, vm);
                int code = backup(out, client, blobs, target);
                target.committed().ifPresent(info -> out.println("snapshot " + info.id()));
                out.flush();
                return code;
            }
        }
    }

    /** Exactly one of ARCHIVE, --store and --proxmox; --vm and --key only with --store. */
    private void checkDestination() {
        String problem = null;
        if (store != null && (archive != null || proxmox.enabled())) {
            problem = "give one of ARCHIVE, --store or --proxmox, not several";
        } else if (store != null && vm == null) {
            problem = "--store needs --vm NAME (the VM the snapshot belongs to)";
        } else if (store == null && (vm != null || key != null || full)) {
            problem = (vm != null ? "--vm" : key != null ? "--key" : "--full") + " only applies with --store";
        } else if (vm != null) {
            try {
                SnapshotId.checkVmName(vm);
            } catch (IllegalArgumentException e) {
                problem = "--vm: " + e.getMessage();
            }
        }
        if (problem != null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), problem);
        }
    }

    /** The archive target, made once QEMU is connected (a Proxmox target asks QEMU about the VM). */
    private interface TargetFactory {
        ArchiveTarget make(QmpClient client);
    }

    private int connectAndBackUp(PrintWriter out, List<ConfigBlob> blobs, TargetFactory target) throws Exception {
        try (QmpClient client = connect()) {
            return backup(out, client, blobs, target.make(client));
        }
    }

    private QmpClient connect() throws Exception {
        return QmpConnect.connect(qmp, Duration.ofSeconds(waitSeconds), QmpClientOptions.DEFAULT_CONNECT_TIMEOUT);
    }

    private int backup(PrintWriter out, QmpClient client, List<ConfigBlob> blobs, ArchiveTarget target)
            throws Exception {
        BackupSession.Builder b = BackupSession.builder().qmp(client).includeVmstate(!noVmstate).target(target)
                .bandwidthLimit(bwlimit).cbwTimeout(cbwTimeout).freezeTimeout(freezeTimeout)
                .fsFreeze(fsFreezeTry ? FsFreeze.TRY : fsFreeze ? FsFreeze.REQUIRED : FsFreeze.OFF);
        if (qga != null) {
            b.guestAgentSocket(qga);
        }
        disks.forEach(b::disk);
        blobs.forEach(b::config);
        BackupReporter reporter = new BackupReporter(out, !noVmstate);
        BackupSession session = b.progress(reporter).build();
        CompletableFuture<BackupResult> result = session.start();
        Thread hook = new Thread(() -> {
            // SIGINT/SIGTERM: cancel cleanly (guest resumed, QEMU cleaned up, no archive) before the JVM exits
            session.cancel();
            try {
                result.get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                // expected: cancelled
            }
        }, "vmabackup-cancel");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            BackupResult r = result.get();
            reporter.summary(r);
            return ExitCode.OK;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down already
            }
            out.flush();
        }
    }
}
