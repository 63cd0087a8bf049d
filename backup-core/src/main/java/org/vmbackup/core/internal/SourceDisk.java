package org.vmbackup.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.command.QueryCommands;
import org.vmbackup.qmp.command.QueryCommands.BlockDeviceInfo;
import org.vmbackup.qmp.command.QueryCommands.BlockInfo;

/**
 * A disk of the running VM as {@code query-block} shows it.
 *
 * @param device the BlockBackend name ({@code -drive id}); empty for {@code -blockdev} disks
 * @param node the root node name, what the backup job reads
 * @param qdev the guest device's qdev path or id (may be empty)
 * @param size the virtual size in bytes
 * @param format the driver of the root node, e.g. {@code raw}
 * @param file the image file name (may be empty)
 * @param readOnly whether the guest sees it read-only
 */
public record SourceDisk(String device, String node, String qdev, long size, String format, String file,
        boolean readOnly) {
    /** Checks nothing is null. */
    public SourceDisk {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(node, "node");
    }

    /** The name a user gives on the command line: the device name, or the node name without one. */
    public String userName() {
        return device.isEmpty() ? node : device;
    }

    /** The archive name: {@code drive-<device>}. */
    public String archiveName() {
        return "drive-" + userName();
    }

    /** Every disk with a medium from a {@code query-block} return value, in QEMU's order. */
    public static List<SourceDisk> fromQueryBlock(Json result) {
        return fromBlockInfo(new QueryCommands.QueryBlock().decode(result));
    }

    /** Every disk with a medium, in QEMU's order, from what {@code query-block} answered. */
    public static List<SourceDisk> fromBlockInfo(List<BlockInfo> blocks) {
        List<SourceDisk> out = new ArrayList<>();
        for (BlockInfo b : blocks) {
            BlockDeviceInfo inserted = b.inserted();
            if (inserted == null) {
                continue; // empty drive (no medium)
            }
            String device = b.device() == null ? "" : b.device();
            String node = inserted.nodeName() == null ? "" : inserted.nodeName();
            if (node.isEmpty()) {
                throw new BackupException("query-block: disk " + device + " has no node name");
            }
            if (inserted.virtualSize() < 0) {
                throw new BackupException("query-block: disk " + (device.isEmpty() ? node : device)
                        + " has no size");
            }
            out.add(new SourceDisk(device, node, b.qdev() == null ? "" : b.qdev(), inserted.virtualSize(),
                    inserted.driver(), inserted.file() == null ? "" : inserted.file(), inserted.readOnly()));
        }
        return out;
    }

    /**
     * The disks to back up: the named ones (by device or node name, in the given order), or every writable
     * disk when {@code wanted} is empty.
     *
     * @throws BackupException naming a wanted disk that does not exist, and listing the ones that do
     */
    public static List<SourceDisk> select(List<SourceDisk> all, List<String> wanted) {
        if (wanted.isEmpty()) {
            List<SourceDisk> w = all.stream().filter(d -> !d.readOnly()).toList();
            if (w.isEmpty()) {
                throw new BackupException("the VM has no writable disk to back up (query-block shows "
                        + all.stream().map(SourceDisk::userName).toList() + ")");
            }
            return w;
        }
        List<SourceDisk> out = new ArrayList<>();
        for (String name : wanted) {
            String n = name.startsWith("drive-") && all.stream().noneMatch(d -> d.userName().equals(name))
                    ? name.substring("drive-".length()) : name;
            SourceDisk d = all.stream().filter(x -> x.userName().equals(n) || x.node().equals(n)).findFirst()
                    .orElseThrow(() -> new BackupException("no disk named " + name + " in the VM (it has "
                            + all.stream().map(SourceDisk::userName).toList() + ")"));
            if (out.contains(d)) {
                throw new BackupException("disk " + name + " is named twice");
            }
            out.add(d);
        }
        return out;
    }
}
