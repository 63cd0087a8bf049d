package org.vmbackup.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.Json;

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
        List<SourceDisk> out = new ArrayList<>();
        for (Json b : result.elements()) {
            Json inserted = b.get("inserted");
            if (inserted == null) {
                continue; // empty drive (no medium)
            }
            String device = b.opt("device").map(Json::asString).orElse("");
            String node = inserted.opt("node-name").map(Json::asString).orElse("");
            if (node.isEmpty()) {
                throw new BackupException("query-block: disk " + device + " has no node name");
            }
            Json image = inserted.require("image");
            out.add(new SourceDisk(device, node, b.opt("qdev").map(Json::asString).orElse(""),
                    image.require("virtual-size").asLong(), inserted.opt("drv").map(Json::asString).orElse(""),
                    inserted.opt("file").map(Json::asString).orElse(""),
                    inserted.opt("ro").map(Json::asBoolean).orElse(false)));
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
