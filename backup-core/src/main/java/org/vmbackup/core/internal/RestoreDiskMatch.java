package org.vmbackup.core.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.command.QueryCommands.BlockInfo;
import org.vmbackup.core.ArchiveDisk;

/**
 * Pairs the disks of an archive with the disks of a target QEMU by name ({@code drive-<device>}, as the backup names
 * them, or the bare device name) and exact size; any difference is refused with one message listing every problem.
 *
 * @param device the archive disk
 * @param qemuDevice the QEMU BlockBackend name from {@code query-block}
 * @param nodeName the node attached to it
 * @param driver its format driver (e.g. {@code raw}, {@code qcow2})
 * @param file the file name QEMU shows for it
 */
public record RestoreDiskMatch(ArchiveDisk device, String qemuDevice, String nodeName, String driver, String file) {
    /**
     * The QEMU name an archive disk goes to: without {@code drive-}, and for vzdump's TPM state device
     * ({@code drive-tpmstate0-backup}, see {@link org.vmbackup.vma.ProxmoxDriveKey#deviceName}) its drive key.
     */
    static String bareName(String archiveName) {
        if (archiveName.equals("drive-tpmstate0-backup")) {
            return "tpmstate0";
        }
        return archiveName.startsWith("drive-") ? archiveName.substring("drive-".length()) : archiveName;
    }

    /**
     * Matches every disk of the archive with one writable disk of QEMU and the other way round.
     *
     * @throws BackupException naming each unmatched disk and each size mismatch
     */
    public static List<RestoreDiskMatch> match(List<ArchiveDisk> archiveDisks, List<BlockInfo> qemuDisks) {
        Map<String, BlockInfo> byName = new HashMap<>();
        for (BlockInfo b : qemuDisks) {
            if (b.inserted() != null && !b.inserted().readOnly() && b.device() != null && !b.device().isEmpty()) {
                byName.put(b.device(), b);
            }
        }
        List<String> problems = new ArrayList<>();
        List<RestoreDiskMatch> out = new ArrayList<>();
        for (ArchiveDisk d : archiveDisks) {
            String bare = bareName(d.name());
            BlockInfo b = byName.remove(bare);
            if (b == null) {
                b = byName.remove(d.name());
            }
            if (b == null && !bare.equals(d.name())) {
                b = byName.remove("drive-" + bare); // a vzdump TPM state in a VM named the way Proxmox names it
            }
            if (b == null && bare.equals("efidisk0")) {
                b = byName.remove("pflash1"); // the UEFI variables of a VM started with -drive if=pflash,unit=1
            }
            if (b == null) {
                problems.add("archive disk " + d.name() + " (" + d.size() + " bytes) has no writable disk named '"
                        + bare + "' in QEMU");
                continue;
            }
            long size = b.inserted().virtualSize();
            if (size != d.size()) {
                problems.add("archive disk " + d.name() + " is " + d.size() + " bytes but QEMU disk " + b.device()
                        + " is " + size + " bytes");
                continue;
            }
            out.add(new RestoreDiskMatch(d, b.device(), b.inserted().nodeName(), b.inserted().driver(),
                    b.inserted().file()));
        }
        for (String extra : new java.util.TreeSet<>(byName.keySet())) {
            problems.add("QEMU disk " + extra + " is not in the archive");
        }
        if (!problems.isEmpty()) {
            throw new BackupException("the target QEMU does not match the archive: " + String.join("; ", problems));
        }
        return out;
    }
}
