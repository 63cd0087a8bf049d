package org.vmbackup.core.vma;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.VmDescription;
import org.vmbackup.vma.ProxmoxDriveKey;

/**
 * Which Proxmox drive key each backed-up disk has. A disk carries its key in its QEMU names, as Proxmox's own VMs
 * do ({@code -drive id=drive-scsi0}, {@code -device ...,id=scsi0}); a VM started otherwise names each disk's key
 * explicitly. The writable firmware flash ({@code pflash1}, the UEFI variables) is the EFI disk.
 */
final class ProxmoxDriveKeys {
    private ProxmoxDriveKeys() {
    }

    /**
     * The drive key of every disk in {@code disks}, in order (archive name to key).
     *
     * @param explicit keys given by the caller, by disk name (device, node or archive name)
     * @throws BackupException naming a disk without a key, or two disks with the same key
     */
    public static Map<String, ProxmoxDriveKey> of(List<VmDescription.Disk> disks, Map<String, String> explicit) {
        Map<String, ProxmoxDriveKey> out = new LinkedHashMap<>();
        Map<String, String> owner = new HashMap<>();
        for (VmDescription.Disk d : disks) {
            ProxmoxDriveKey key = keyOf(d, explicit);
            String before = owner.put(key.value(), d.archiveName());
            if (before != null) {
                throw new BackupException("disks " + before + " and " + d.archiveName() + " both have the Proxmox "
                        + "drive key " + key);
            }
            out.put(d.archiveName(), key);
        }
        return out;
    }

    private static ProxmoxDriveKey keyOf(VmDescription.Disk d, Map<String, String> explicit) {
        for (String name : List.of(d.device(), d.node(), d.archiveName())) {
            String k = explicit.get(name);
            if (k != null && !name.isEmpty()) {
                String why = ProxmoxDriveKey.problem(k);
                if (why != null) {
                    throw new BackupException("disk " + name + ": '" + k + "' is not a Proxmox drive key: " + why);
                }
                return new ProxmoxDriveKey(k);
            }
        }
        for (String candidate : List.of(strip(d.device()), strip(d.node()), qdevId(d.qdev()))) {
            if (ProxmoxDriveKey.isValid(candidate)) {
                return new ProxmoxDriveKey(candidate);
            }
        }
        if (d.device().equals("pflash1") || d.qdev().equals("/machine/system.flash1")) {
            return new ProxmoxDriveKey("efidisk0");
        }
        throw new BackupException("disk " + (d.device().isEmpty() ? d.node() : d.device()) + " has no Proxmox drive "
                + "key: name its QEMU drive or device like Proxmox does (virtio0, scsi1, sata0, ide2, "
                + "drive-virtio0...) or give it one (NAME=KEY)");
    }

    private static String strip(String name) {
        return name.startsWith("drive-") ? name.substring("drive-".length()) : name;
    }

    /** The device id in a qdev path: {@code /machine/peripheral/scsi0/virtio-backend} gives {@code scsi0}. */
    private static String qdevId(String qdev) {
        String prefix = "/machine/peripheral/";
        if (qdev.startsWith(prefix)) {
            String rest = qdev.substring(prefix.length());
            int slash = rest.indexOf('/');
            return slash < 0 ? rest : rest.substring(0, slash);
        }
        return qdev.contains("/") ? "" : qdev;
    }
}
