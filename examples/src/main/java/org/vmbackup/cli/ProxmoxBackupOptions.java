package org.vmbackup.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vmbackup.core.ArchiveTarget;
import org.vmbackup.core.vma.ProxmoxTarget;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.vma.ProxmoxArchiveName;
import org.vmbackup.vma.ProxmoxConfig;
import org.vmbackup.vma.VmaCompression;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code backup}'s Proxmox mode: {@code --proxmox VMID --dump-dir DIR [--proxmox-conf FILE] [--notes TEXT]
 * [--drive-key DISK=KEY]... [--compress zstd|gzip|none]}. Everything is checked before QEMU is touched.
 */
final class ProxmoxBackupOptions {
    @Option(names = "--proxmox", paramLabel = "VMID",
            description = "write an archive Proxmox VE restores (qmrestore ARCHIVE VMID): vzdump's file name for "
                    + "VMID in --dump-dir, disks named drive-<drivekey>, a qemu-server.conf with map lines, a .log")
    Long vmid;

    @Option(names = "--proxmox-conf", paramLabel = "FILE",
            description = "with --proxmox: the VM's Proxmox config (/etc/pve/qemu-server/VMID.conf) to store, map "
                    + "lines added; default: one generated from the VM")
    Path conf;

    @Option(names = "--dump-dir", paramLabel = "DIR",
            description = "with --proxmox: the directory the archive goes to (a Proxmox storage's dump directory)")
    Path dumpDir;

    @Option(names = "--notes", paramLabel = "TEXT", description = "with --proxmox: the backup's notes (one line)")
    String notes;

    @Option(names = "--drive-key", paramLabel = "DISK=KEY",
            description = "with --proxmox: the Proxmox drive key of a disk whose QEMU names do not carry one, e.g. "
                    + "hd0=scsi0 (repeatable)")
    Map<String, String> driveKeys = new LinkedHashMap<>();

    @Option(names = "--compress", paramLabel = "zstd|gzip|none", defaultValue = "zstd",
            description = "with --proxmox: the archive's compression (.vma.zst, .vma.gz, .vma); "
                    + "default: ${DEFAULT-VALUE}")
    String compress;

    private ProxmoxConfig parsed;

    boolean enabled() {
        return vmid != null;
    }

    /**
     * Checks the options and reads the config.
     *
     * @param archive the ARCHIVE parameter, or null
     */
    void check(CommandSpec spec, Path archive) {
        if (!enabled()) {
            if (conf != null || dumpDir != null || notes != null || !driveKeys.isEmpty() || !"zstd".equals(compress)) {
                throw new ParameterException(spec.commandLine(),
                        "--proxmox-conf, --dump-dir, --notes, --drive-key and --compress go with --proxmox VMID");
            }
            if (archive == null) {
                throw new ParameterException(spec.commandLine(),
                        "missing ARCHIVE (or --store STORE --vm NAME, or --proxmox VMID --dump-dir DIR)");
            }
            return;
        }
        try {
            ProxmoxArchiveName.requireVmid(vmid);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--proxmox: " + e.getMessage());
        }
        if (archive != null) {
            throw new ParameterException(spec.commandLine(),
                    "--proxmox names the archive itself (vzdump's name in --dump-dir): give no ARCHIVE");
        }
        if (dumpDir == null) {
            throw new ParameterException(spec.commandLine(), "--proxmox needs --dump-dir DIR");
        }
        if (!List.of("zstd", "gzip", "none").contains(compress)) {
            throw new ParameterException(spec.commandLine(), "--compress must be zstd, gzip or none, not " + compress);
        }
        if (notes != null && notes.contains("\n")) {
            throw new ParameterException(spec.commandLine(), "--notes is one line (Proxmox shows only the first)");
        }
        if (!Files.isDirectory(dumpDir)) {
            throw new CliFailure("cannot use dump directory " + dumpDir + ": " + (Files.exists(dumpDir)
                    ? "not a directory" : "no such directory"));
        }
        if (conf != null) {
            InputPaths.readable("Proxmox config", conf);
            try {
                parsed = ProxmoxConfig.parse(Files.readString(conf, StandardCharsets.UTF_8));
            } catch (IllegalArgumentException | java.io.IOException e) {
                throw new CliFailure("cannot use Proxmox config " + conf + ": not a qemu-server config: "
                        + (e instanceof java.nio.charset.MalformedInputException ? "not UTF-8 text" : e.getMessage()),
                        e);
            }
        }
    }

    /** The target, with the VM's name and vCPUs from QEMU for a generated config. */
    ArchiveTarget target(QmpClient client) {
        return target(client, null);
    }

    /**
     * The target; {@code client} null: a generated config from the archive's vm.json alone (an export from the
     * store); {@code clock} non-null: the archive is named by its time (the snapshot's instant), not now.
     */
    ArchiveTarget target(QmpClient client, java.time.Clock clock) {
        ProxmoxTarget.Builder b = ProxmoxTarget.builder(vmid, dumpDir);
        if (parsed != null) {
            b.config(parsed);
        } else if (client != null) {
            b.factsFrom(client, Duration.ofSeconds(10));
        }
        if (clock != null) {
            b.clock(clock);
        }
        if (notes != null) {
            b.notes(notes);
        }
        driveKeys.forEach(b::driveKey);
        b.compression(switch (compress) {
            case "gzip" -> VmaCompression.GZIP;
            case "none" -> VmaCompression.NONE;
            default -> VmaCompression.ZSTD;
        });
        return b.build();
    }
}
