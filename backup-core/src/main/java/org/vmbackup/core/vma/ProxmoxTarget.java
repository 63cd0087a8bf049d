package org.vmbackup.core.vma;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ArchiveSink;
import org.vmbackup.core.ArchiveTarget;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.ConfigBlob;
import org.vmbackup.core.VmDescription;
import org.vmbackup.core.internal.VmDescriptionReader;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.vma.ProxmoxArchiveName;
import org.vmbackup.vma.ProxmoxConfig;
import org.vmbackup.vma.ProxmoxDriveKey;
import org.vmbackup.vma.ProxmoxRestoreCheck;
import org.vmbackup.vma.VmaCompression;
import org.vmbackup.vma.VmaConfig;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaHeader;

/**
 * A VMA archive that Proxmox VE restores as it restores its own backups ({@code qmrestore ARCHIVE VMID}): written
 * into a dump directory under vzdump's name ({@code vzdump-qemu-<vmid>-<local time>.vma[.zst|.gz]}, renamed when
 * complete) with the task log and optional notes beside it; disks named {@code drive-<drivekey>}; a
 * {@code qemu-server.conf} with a map line per disk (the caller's config, or one generated from the VM). The
 * archive is checked against Proxmox's restore rules ({@link ProxmoxRestoreCheck}) before its first byte is written,
 * so a VM Proxmox could not restore fails before the guest is touched. {@code vm.json} stays in the archive (Proxmox
 * ignores config blobs it does not know), so this library restores it as any other archive.
 *
 * <pre>{@code
 * BackupSession.builder().qmp(client).target(ProxmoxTarget.builder(105, Path.of("/var/lib/vz/dump"))
 *         .compression(VmaCompression.ZSTD).notes("before the upgrade").build()).build().start();
 * }</pre>
 */
public final class ProxmoxTarget implements ArchiveTarget {
    private final Builder b;

    private ProxmoxTarget(Builder b) {
        this.b = b;
    }

    /**
     * A builder for VM {@code vmid}, archives in {@code dumpDir} (which must exist).
     *
     * @throws IllegalArgumentException when {@code vmid} is out of Proxmox's range (100 to 999999999)
     */
    public static Builder builder(long vmid, Path dumpDir) {
        return new Builder(ProxmoxArchiveName.requireVmid(vmid), dumpDir);
    }

    @Override
    public ArchiveSink open(ArchiveLayout layout) throws IOException {
        Instant started = b.clock.instant();
        LocalDateTime local = LocalDateTime.ofInstant(started, b.clock.getZone()).withNano(0);
        ConfigBlob desc = layout.configs().stream().filter(c -> c.name().equals(VmDescription.CONFIG_NAME))
                .findFirst().orElseThrow(() -> new BackupException("a Proxmox archive is made from the VM's "
                        + "description (" + VmDescription.CONFIG_NAME + "), and the backup has none"));
        VmDescription vm = VmDescriptionReader.read(desc.content());
        Map<String, ProxmoxDriveKey> keys = ProxmoxDriveKeys.of(vm.disks(), b.driveKeys);
        ProxmoxConfig conf = b.config != null ? ProxmoxConfigPlan.fromUser(b.config, keys)
                : ProxmoxConfigPlan.generated(b.vmid, vm, keys, b.vmName, b.cores);

        List<ArchiveDisk> disks = new ArrayList<>();
        long[] sizes = new long[layout.disks().size()];
        long[] padded = new long[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            ArchiveDisk d = layout.disk(i);
            ProxmoxDriveKey key = Objects.requireNonNull(keys.get(d.name()), d.name());
            sizes[i] = d.size();
            // whole sectors, as vma create pads them (Proxmox's vma asserts on other sizes)
            padded[i] = (d.size() + ProxmoxRestoreCheck.SECTOR - 1) / ProxmoxRestoreCheck.SECTOR
                    * ProxmoxRestoreCheck.SECTOR;
            disks.add(new ArchiveDisk(key.deviceName(), padded[i]));
        }
        List<ConfigBlob> configs = new ArrayList<>();
        configs.add(ConfigBlob.ofText(ProxmoxConfig.BLOB_NAME, conf.text()));
        layout.configs().stream().filter(c -> !c.name().equals(ProxmoxConfig.BLOB_NAME)).forEach(configs::add);
        ArchiveLayout out = new ArchiveLayout(layout.uuid(), layout.created(), disks, layout.vmstateEstimate(),
                configs);
        List<String> problems = ProxmoxRestoreCheck.problems(plannedHeader(out));
        if (!problems.isEmpty()) {
            throw new BackupException("Proxmox could not restore this archive: " + String.join("; ", problems));
        }

        ProxmoxArchiveName name = new ProxmoxArchiveName(b.vmid, local,
                ProxmoxArchiveName.extensionFor(b.compression));
        Path archive = b.dumpDir.resolve(name.fileName());
        Path logFile = b.dumpDir.resolve(name.logName());
        if (Files.exists(logFile)) {
            throw new FileAlreadyExistsException(logFile.toString(), null, "a backup of this VM with the same "
                    + "time stamp exists");
        }
        Map<Path, Supplier<String>> side = new LinkedHashMap<>();
        side.put(logFile, () -> taskLog(started, local, vm, out, keys, archive));
        if (!b.notes.isEmpty()) {
            side.put(b.dumpDir.resolve(name.notesName()), () -> b.notes + "\n");
        }
        return new ProxmoxSink(VmaArchiveSink.open(archive, out), sizes, padded, side);
    }

    private static VmaHeader plannedHeader(ArchiveLayout layout) {
        List<VmaConfig> configs = layout.configs().stream().map(c -> new VmaConfig(c.name(), c.content())).toList();
        List<VmaDevice> devices = new ArrayList<>();
        for (ArchiveDisk d : layout.disks()) {
            devices.add(new VmaDevice(devices.size() + 1, d.name(), d.size()));
        }
        return new VmaHeader(layout.uuid(), layout.created(), configs, devices, 0);
    }

    private String taskLog(Instant started, LocalDateTime local, VmDescription vm, ArchiveLayout out,
            Map<String, ProxmoxDriveKey> keys, Path archive) {
        Instant ended = b.clock.instant();
        LocalDateTime end = LocalDateTime.ofInstant(ended, b.clock.getZone()).withNano(0);
        ProxmoxTaskLog l = new ProxmoxTaskLog().info(local, "Starting Backup of VM " + b.vmid + " (qemu)")
                .info(local, "Backup started at " + ProxmoxTaskLog.stamp(local))
                .info(local, "status = running");
        if (!b.vmName.isEmpty()) {
            l.info(local, "VM Name: " + b.vmName);
        }
        long total = 0;
        for (VmDescription.Disk d : vm.disks()) {
            ProxmoxDriveKey key = keys.get(d.archiveName());
            l.info(local, "include disk '" + key + "' '" + (d.file().isEmpty() ? d.node() : d.file()) + "' "
                    + ProxmoxTaskLog.size(d.size()));
            total += d.size();
        }
        l.info(local, "backup mode: snapshot").info(local, "creating vzdump archive '" + archive + "'")
                .info(local, "started backup by vmbackup: " + out.disks().size() + " disks"
                        + (out.hasVmstate() ? " and the VM state" : ""));
        Duration took = Duration.between(started, ended);
        l.info(end, "transferred " + ProxmoxTaskLog.size(total) + " in " + took.toSeconds() + " seconds")
                .info(end, "Finished Backup of VM " + b.vmid + " (" + ProxmoxTaskLog.duration(took) + ")")
                .info(end, "Backup finished at " + ProxmoxTaskLog.stamp(end));
        return l.text();
    }

    /** Options of a Proxmox-mode archive. */
    public static final class Builder {
        private final int vmid;
        private final Path dumpDir;
        private ProxmoxConfig config;
        private String notes = "";
        private String vmName = "";
        private int cores;
        private VmaCompression compression = VmaCompression.ZSTD;
        private Clock clock = Clock.systemDefaultZone();
        private final Map<String, String> driveKeys = new HashMap<>();

        private Builder(int vmid, Path dumpDir) {
            this.vmid = vmid;
            this.dumpDir = Objects.requireNonNull(dumpDir, "dumpDir").toAbsolutePath();
        }

        /**
         * The VM's Proxmox config (its {@code /etc/pve/qemu-server/<vmid>.conf}); the archive gets it with the map
         * lines added. Without one, a config is generated from the VM (memory, machine, cores, name, disks).
         */
        public Builder config(ProxmoxConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /** The backup's notes, shown by Proxmox beside it (first line); none by default. */
        public Builder notes(String notes) {
            if (notes.contains("\n")) {
                throw new IllegalArgumentException("notes are one line: Proxmox shows only the first");
            }
            this.notes = notes;
            return this;
        }

        /** The VM's name for the generated config and the log. */
        public Builder vmName(String vmName) {
            this.vmName = Objects.requireNonNull(vmName, "vmName");
            return this;
        }

        /** The VM's vCPU count for the generated config. */
        public Builder cores(int cores) {
            this.cores = Math.max(0, cores);
            return this;
        }

        /**
         * Takes the VM's name and vCPU count for the generated config from the running QEMU.
         *
         * @throws BackupException when QEMU does not answer within {@code timeout}
         */
        public Builder factsFrom(QmpClient client, Duration timeout) {
            try {
                ProxmoxVmFacts f = ProxmoxVmFacts.query(client, timeout);
                return vmName(f.name()).cores(f.cpus());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BackupException("interrupted while asking QEMU for the VM's name and vCPUs", e);
            } catch (Exception e) {
                throw new BackupException("cannot ask QEMU for the VM's name and vCPUs: " + e.getMessage(), e);
            }
        }

        /** Gives disk {@code disk} (device, node or archive name) the drive key {@code key}. */
        public Builder driveKey(String disk, String key) {
            driveKeys.put(Objects.requireNonNull(disk, "disk"), Objects.requireNonNull(key, "key"));
            return this;
        }

        /** The archive's compression; zstd by default, as vzdump's. */
        public Builder compression(VmaCompression compression) {
            this.compression = Objects.requireNonNull(compression, "compression");
            return this;
        }

        /** The clock and zone of the file name and log (the node's local time by default). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** The target. */
        public ProxmoxTarget build() {
            return new ProxmoxTarget(this);
        }
    }
}
