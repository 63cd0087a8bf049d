package org.vmbackup.core.vma;

import java.util.ArrayList;
import java.util.TreeMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.VmDescription;
import org.vmbackup.vma.ProxmoxConfig;
import org.vmbackup.vma.ProxmoxDriveKey;
import org.vmbackup.vma.ProxmoxMapLine;

/**
 * The {@code qemu-server.conf} of a Proxmox-mode backup: the user's config with the map lines added (as vzdump's
 * {@code assemble} does), or one generated from the running VM's facts. A disk's map line names its VMA device
 * ({@code drive-<key>}), the storage and format its config line gives (a hint qmrestore's {@code --storage}
 * overrides), or none.
 */
final class ProxmoxConfigPlan {
    /** What Proxmox accepts as a VM name ({@code dns-name} format): generated configs leave other names out. */
    private static final Pattern DNS_NAME = Pattern.compile(
            "(?:[a-zA-Z0-9](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?\\.)*[a-zA-Z0-9](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?");
    /** Proxmox's machine types ({@code pve-qm-machine}); QEMU's own versioned names are among them. */
    private static final Pattern MACHINE = Pattern.compile(
            "pc|pc(-i440fx)?-\\d+(\\.\\d+)+(\\+pve\\d+)?|q35|pc-q35-\\d+(\\.\\d+)+(\\+pve\\d+)?");
    private static final long MIB = 1L << 20;
    /** The EFI vars size of Proxmox's 4 MiB OVMF images ({@code efitype=4m}); the 2 MiB ones have 128 KiB. */
    private static final long EFI_4M_VARS = 540672;

    private ProxmoxConfigPlan() {
    }

    /**
     * The user's config for the archive: the disks' drive keys must each have a line in it.
     *
     * @param keys archive disk name to drive key, in archive order
     * @throws BackupException naming a backed-up drive the config has no line for
     */
    public static ProxmoxConfig fromUser(ProxmoxConfig user, Map<String, ProxmoxDriveKey> keys) {
        Map<String, String> settings = user.settings();
        List<ProxmoxMapLine> maps = new ArrayList<>();
        for (ProxmoxDriveKey key : keys.values()) {
            String line = settings.get(key.value());
            if (line == null) {
                throw new BackupException("the Proxmox config has no " + key + " line for the disk backed up as "
                        + key.deviceName() + " (qmrestore would restore the data but attach it nowhere)");
            }
            maps.add(ProxmoxMapLine.of(key, storageOf(line), formatOf(line)));
        }
        return user.forArchive(maps);
    }

    /**
     * A config generated from the VM's facts.
     *
     * @param vmName the VM's name as QEMU knows it (left out unless Proxmox accepts it), or empty
     * @param cores the number of vCPUs, or 0 when unknown
     */
    public static ProxmoxConfig generated(int vmid, VmDescription vm, Map<String, ProxmoxDriveKey> keys,
            String vmName, int cores) {
        Map<String, String> s = new TreeMap<>(); // Proxmox writes its keys sorted
        if (keys.values().stream().anyMatch(k -> k.value().equals("efidisk0"))) {
            s.put("bios", "ovmf");
        }
        if (cores > 0) {
            s.put("cores", Integer.toString(cores));
        }
        List<ProxmoxMapLine> maps = new ArrayList<>();
        int n = 0;
        for (VmDescription.Disk d : vm.disks()) {
            ProxmoxDriveKey key = keys.get(d.archiveName());
            StringBuilder v = new StringBuilder("local:vm-" + vmid + "-disk-" + n++);
            if (key.value().equals("efidisk0") && d.size() == EFI_4M_VARS) {
                v.append(",efitype=4m");
            }
            v.append(",size=").append(size(d.size()));
            s.put(key.value(), v.toString());
            maps.add(ProxmoxMapLine.of(key, "", formatHint(d.format())));
        }
        if (MACHINE.matcher(vm.machine()).matches()) {
            s.put("machine", vm.machine());
        }
        s.put("memory", Long.toString(Math.max(1, vm.memoryBytes() / MIB)));
        if (!vmName.isEmpty() && DNS_NAME.matcher(vmName).matches()) {
            s.put("name", vmName);
        }
        return ProxmoxConfig.of(s).forArchive(maps);
    }

    /** A size as Proxmox writes it: the largest unit that divides it exactly. */
    static String size(long bytes) {
        String[] units = {"T", "G", "M", "K"};
        for (int i = 0; i < units.length; i++) {
            long unit = 1L << (10 * (4 - i));
            if (bytes % unit == 0) {
                return bytes / unit + units[i];
            }
        }
        return Long.toString(bytes);
    }

    private static String formatHint(String qemuFormat) {
        return ProxmoxMapLine.FORMATS.contains(qemuFormat) ? qemuFormat : "raw";
    }

    /** The storage of a drive line's volume ({@code local-lvm:vm-100-disk-0,size=32G} gives {@code local-lvm}). */
    private static String storageOf(String driveValue) {
        String file = driveValue.split(",", 2)[0];
        int colon = file.indexOf(':');
        String storage = colon > 0 ? file.substring(0, colon) : "";
        return storage.matches("[a-zA-Z][a-zA-Z0-9\\-_.]*[a-zA-Z0-9]|[a-zA-Z]") ? storage : "";
    }

    private static String formatOf(String driveValue) {
        String file = driveValue.split(",", 2)[0];
        Optional<String> explicit = java.util.Arrays.stream(driveValue.split(","))
                .filter(o -> o.startsWith("format=")).map(o -> o.substring("format=".length())).findFirst();
        String f = explicit.orElse(file.endsWith(".qcow2") ? "qcow2" : file.endsWith(".vmdk") ? "vmdk" : "raw");
        return ProxmoxMapLine.FORMATS.contains(f) ? f : "raw";
    }
}
