package org.vmbackup.core.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ConfigBlob;
import org.vmbackup.core.VmDescription;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.QmpVersion;
import org.vmbackup.qmp.command.QueryCommands.QomGet;
import org.vmbackup.qmp.command.QueryCommands.QueryMemorySizeSummary;

/** What the archive of a backup will hold, asked from QEMU before anything is changed: its {@link ArchiveLayout}. */
final class ArchivePlan {
    private static final Duration QOM_TIMEOUT = Duration.ofSeconds(10);

    private ArchivePlan() {
    }

    /**
     * The layout of an archive of {@code disks}.
     *
     * @param configs the caller's config blobs
     * @param describeVm whether to add the {@code vm.json} description (unless the caller gave one)
     * @param vmstate whether the archive holds the VM state (its size is then the guest's RAM)
     * @param freezing whether the backup freezes the guest's file systems over its instant (with a VM state, a
     *     restore then thaws the guest it resumes)
     */
    static ArchiveLayout layout(QemuCalls q, List<SourceDisk> disks, Instant started, List<ConfigBlob> configs,
            boolean describeVm, boolean vmstate, boolean freezing) {
        long memory = q.call(new QueryMemorySizeSummary()).baseMemory();
        List<ArchiveDisk> archiveDisks = new ArrayList<>();
        List<VmDescription.Disk> described = new ArrayList<>();
        for (SourceDisk d : disks) {
            archiveDisks.add(new ArchiveDisk(d.archiveName(), d.size()));
            described.add(new VmDescription.Disk(d.archiveName(), d.device(), d.node(), d.qdev(), d.size(),
                    d.format(), d.file()));
        }
        List<ConfigBlob> all = new ArrayList<>(configs);
        if (describeVm && all.stream().noneMatch(c -> c.name().equals(VmDescription.CONFIG_NAME))) {
            QmpVersion v = q.client().greeting().version();
            all.add(new VmDescription(v.major() + "." + v.minor() + "." + v.micro(),
                    v.packageVersion() == null ? "" : v.packageVersion(), machineType(q), memory, vmstate,
                    described, vmstate && freezing).toConfigBlob());
        }
        return new ArchiveLayout(UUID.randomUUID(), started, archiveDisks, vmstate ? Math.max(1, memory) : 0, all);
    }

    /** The machine type without QOM's {@code -machine} suffix, or {@code ""} if QEMU does not say. */
    private static String machineType(QemuCalls q) {
        Json t = q.tryQuery(new QomGet("/machine", "type"), QOM_TIMEOUT).orElse(null);
        if (t == null) {
            return "";
        }
        String s = t.asString();
        return s.endsWith("-machine") ? s.substring(0, s.length() - "-machine".length()) : s;
    }
}
