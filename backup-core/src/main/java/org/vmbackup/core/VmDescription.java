package org.vmbackup.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.vmbackup.core.internal.JsonText;

/**
 * The default config blob of an archive ({@code vm.json}): what a restore needs to know about the VM the
 * backup came from. A VM state only loads into a QEMU with the same machine type and devices.
 *
 * @param qemuVersion e.g. {@code 7.2.0}
 * @param qemuPackage the package string QEMU reports (may be empty)
 * @param machine the machine type, e.g. {@code pc-i440fx-7.2}
 * @param memoryBytes the guest RAM size
 * @param vmstate whether the archive holds the VM state
 * @param disks the disks in the archive, in archive order
 * @param guestFrozen whether the backup froze the guest's file systems over its instant: its VM state is then that
 *     of a frozen guest, and a restore of it thaws the guest through its agent once it runs
 */
public record VmDescription(String qemuVersion, String qemuPackage, String machine, long memoryBytes,
        boolean vmstate, List<Disk> disks, boolean guestFrozen) {
    /** The config blob name the session stores the description under. */
    public static final String CONFIG_NAME = "vm.json";

    /** Copies the list. */
    public VmDescription {
        Objects.requireNonNull(qemuVersion, "qemuVersion");
        Objects.requireNonNull(qemuPackage, "qemuPackage");
        Objects.requireNonNull(machine, "machine");
        disks = List.copyOf(disks);
    }

    /** A description of a backup that did not freeze the guest. */
    public VmDescription(String qemuVersion, String qemuPackage, String machine, long memoryBytes, boolean vmstate,
            List<Disk> disks) {
        this(qemuVersion, qemuPackage, machine, memoryBytes, vmstate, disks, false);
    }

    /**
     * One disk as QEMU showed it.
     *
     * @param archiveName the name in the archive
     * @param device the QEMU device name (empty for a -blockdev node without a BlockBackend name)
     * @param node the block node name backed up
     * @param qdev the guest device's qdev path or id (may be empty)
     * @param size the exact size in bytes
     * @param format the image format driver, e.g. {@code raw} or {@code qcow2}
     * @param file the image file name QEMU reported (may be empty)
     */
    public record Disk(String archiveName, String device, String node, String qdev, long size, String format,
            String file) {
        /** Checks that nothing is null. */
        public Disk {
            Objects.requireNonNull(archiveName, "archiveName");
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(node, "node");
            Objects.requireNonNull(qdev, "qdev");
            Objects.requireNonNull(format, "format");
            Objects.requireNonNull(file, "file");
        }
    }

    /** The description as indented JSON. */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("generator", "vmbackup");
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("version", qemuVersion);
        q.put("package", qemuPackage);
        m.put("qemu", q);
        m.put("machine", machine);
        m.put("memory", memoryBytes);
        m.put("vmstate", vmstate);
        if (guestFrozen) {
            m.put("guestFrozen", true);
        }
        List<Object> ds = new ArrayList<>();
        for (Disk d : disks) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", d.archiveName());
            e.put("device", d.device());
            e.put("node", d.node());
            e.put("qdev", d.qdev());
            e.put("size", d.size());
            e.put("format", d.format());
            e.put("file", d.file());
            ds.add(e);
        }
        m.put("disks", ds);
        return JsonText.write(m);
    }

    /** The description as the config blob {@value #CONFIG_NAME}. */
    public ConfigBlob toConfigBlob() {
        return ConfigBlob.ofText(CONFIG_NAME, toJson());
    }
}
