package org.vmbackup.vma;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Proxmox VE drive key: the config key a disk of a qemu-server VM lives under ({@code virtio0}, {@code scsi3},
 * {@code sata1}, {@code ide2}, {@code efidisk0}, {@code tpmstate0}). qemu-server knows no other disk keys
 * ({@code PVE::QemuServer::Drive::valid_drive_names}: ide0-3, scsi0-30, virtio0-15, sata0-5, efidisk0,
 * tpmstate0), and its restore refuses a map line whose key it cannot parse as a drive.
 *
 * @param value the key, e.g. {@code scsi0}
 */
public record ProxmoxDriveKey(String value) {
    private static final Pattern BUS_INDEX = Pattern.compile("(ide|scsi|virtio|sata)(0|[1-9][0-9]?)");

    /** Checks the key is one qemu-server accepts. */
    public ProxmoxDriveKey {
        Objects.requireNonNull(value, "value");
        String why = problem(value);
        if (why != null) {
            throw new IllegalArgumentException("'" + value + "' is not a Proxmox drive key: " + why);
        }
    }

    /** Why {@code key} is not a drive key qemu-server accepts, or {@code null} when it is one. */
    public static String problem(String key) {
        if (key.equals("efidisk0") || key.equals("tpmstate0")) {
            return null;
        }
        Matcher m = BUS_INDEX.matcher(key);
        if (!m.matches()) {
            return "expected ide0-3, scsi0-30, virtio0-15, sata0-5, efidisk0 or tpmstate0";
        }
        int index = Integer.parseInt(m.group(2));
        int max = switch (m.group(1)) {
            case "ide" -> 3;
            case "scsi" -> 30;
            case "virtio" -> 15;
            default -> 5;
        };
        return index <= max ? null : m.group(1) + " drives are numbered 0 to " + max;
    }

    /** Whether {@code key} is a drive key qemu-server accepts. */
    public static boolean isValid(String key) {
        return problem(key) == null;
    }

    /**
     * The VMA device name vzdump gives this drive ({@code PVE::VZDump::QemuServer::prepare}): {@code drive-<key>},
     * except the TPM state, which vzdump backs up through a temporary {@code drive-tpmstate0-backup} node.
     */
    public String deviceName() {
        return value.equals("tpmstate0") ? "drive-tpmstate0-backup" : "drive-" + value;
    }

    @Override
    public String toString() {
        return value;
    }
}
