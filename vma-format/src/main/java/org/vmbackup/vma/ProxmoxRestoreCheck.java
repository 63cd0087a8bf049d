package org.vmbackup.vma;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Whether Proxmox VE can restore an archive: qmrestore's rules ({@code PVE::QemuServer::restore_vma_archive} and
 * its {@code parse_backup_hints}) and the limits of Proxmox's {@code vma} tool, which qmrestore runs as
 * {@code vma extract -v -r FIFO}. Applied to a header, so it checks an archive before it is written (from the
 * planned header) as well as after (from the file). {@code vma-format/PROXMOX.md} in the repository says where
 * each rule comes from.
 *
 * <p>The rules, one problem each:
 * <ol>
 *   <li>the archive has a {@value ProxmoxConfig#BLOB_NAME} blob, and it is a qemu-server config;</li>
 *   <li>every map line has a drive key and a format qmrestore accepts;</li>
 *   <li>every map line names a disk of the archive ("archive does not contain data for drive");</li>
 *   <li>every disk has a map line ("found no device mapping information for device");</li>
 *   <li>no drive key is mapped twice (qmrestore would restore one device and silently drop the other);</li>
 *   <li>every disk is whole 512-byte sectors, at least one (smaller sizes, and unaligned last clusters, trip an
 *       assertion in {@code vma});</li>
 *   <li>when the archive has disks, one of them is at least 64 KiB ({@code vma extract -v} divides by the total
 *       of whole clusters, zero when every disk is smaller);</li>
 *   <li>no config or device has an empty name ({@code vma} crashes on a zero-length name).</li>
 * </ol>
 * The {@code vmstate} device is listed by {@code vma} separately and ignored by qmrestore: it needs no map line.
 */
public final class ProxmoxRestoreCheck {
    /** The sector size {@code vma create} pads devices to. */
    public static final long SECTOR = 512;

    private ProxmoxRestoreCheck() {
    }

    /** Every rule {@code header} breaks, in words; empty when Proxmox can restore it. */
    public static List<String> problems(VmaHeader header) {
        List<String> out = new ArrayList<>();
        List<VmaDevice> disks = header.devices().stream().filter(d -> !d.isVmstate()).toList();
        for (VmaConfig c : header.configs()) {
            if (c.name().isEmpty()) {
                out.add("a config blob has an empty name (Proxmox's vma crashes on it)");
            }
        }
        for (VmaDevice d : disks) {
            if (d.name().isEmpty()) {
                out.add("device " + d.id() + " has an empty name (Proxmox's vma crashes on it)");
            }
            if (d.size() < SECTOR || d.size() % SECTOR != 0) {
                out.add("device " + d.name() + " is " + d.size() + " bytes, not whole 512-byte sectors (Proxmox's "
                        + "vma can fail an assertion on it)");
            }
        }
        if (!disks.isEmpty() && disks.stream().allMatch(d -> d.size() < VmaConstants.CLUSTER_SIZE)) {
            out.add("every disk is under 64 KiB (Proxmox's vma extract -v divides by zero on such an archive)");
        }
        Optional<VmaConfig> conf = header.config(ProxmoxConfig.BLOB_NAME);
        if (conf.isEmpty()) {
            out.add("the archive has no " + ProxmoxConfig.BLOB_NAME + " (qmrestore reads the VM's config from it)");
            return out;
        }
        List<ProxmoxMapLine> maps = new ArrayList<>();
        String[] lines = new String(conf.get().data(), StandardCharsets.UTF_8).split("\n", -1);
        try {
            ProxmoxConfig.parse(String.join("\n", lines));
        } catch (IllegalArgumentException e) {
            out.add(ProxmoxConfig.BLOB_NAME + " is not a qemu-server config: " + e.getMessage());
        }
        for (String line : lines) {
            try {
                ProxmoxMapLine.parse(line).ifPresent(maps::add);
            } catch (IllegalArgumentException e) {
                out.add("map line '" + line + "': " + e.getMessage());
            }
        }
        Map<String, String> keyOf = new HashMap<>();
        Map<String, String> deviceOf = new HashMap<>();
        for (ProxmoxMapLine m : maps) {
            String key = m.driveKey().value();
            if (header.device(m.deviceName()).filter(d -> !d.isVmstate()).isEmpty()) {
                out.add("map line for " + key + " names device " + m.deviceName()
                        + ", which the archive does not have");
            }
            String before = deviceOf.put(key, m.deviceName());
            if (before != null) {
                out.add("drive key " + key + " is mapped twice (" + before + " and " + m.deviceName() + ")");
            }
            keyOf.putIfAbsent(m.deviceName(), key);
        }
        for (VmaDevice d : disks) {
            if (!keyOf.containsKey(d.name())) {
                out.add("device " + d.name() + " has no map line (qmrestore refuses a device it cannot map)");
            }
        }
        return out;
    }
}
