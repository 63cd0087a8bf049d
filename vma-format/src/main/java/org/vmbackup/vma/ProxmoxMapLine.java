package org.vmbackup.vma;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code #qmdump#map:<drivekey>:<devname>:<storage>:<format>:} line of a vzdump qemu-server config: which VMA
 * device holds which drive. qmrestore reads these lines with one pattern ({@code PVE::QemuServer}'s
 * {@code parse_backup_hints}: four colon-separated fields, the first two non-empty and without white space, the
 * line ending right after the last colon) and restores a device only through one.
 *
 * @param driveKey the drive the device restores to
 * @param deviceName the VMA device name, e.g. {@code drive-scsi0}
 * @param storage the storage the disk came from (a hint; empty means {@code local} on restore)
 * @param format the image format on that storage ({@code raw}, {@code qcow2}, {@code vmdk}; empty means raw)
 */
public record ProxmoxMapLine(ProxmoxDriveKey driveKey, String deviceName, String storage, String format) {
    /** What every map line starts with. */
    public static final String PREFIX = "#qmdump#map:";
    /** The formats Proxmox storages allocate ({@code PVE::Storage::Plugin} valid formats); other hints are ignored. */
    public static final Set<String> FORMATS = Set.of("", "raw", "qcow2", "vmdk");
    private static final Pattern LINE = Pattern.compile("#qmdump#map:(\\S+):(\\S+):(\\S*):(\\S*):");
    /** Proxmox's storage ids ({@code pve-storage-id}), or empty. */
    private static final Pattern STORAGE = Pattern.compile("|[a-z][a-z0-9\\-_.]*[a-z0-9]|[a-z]",
            Pattern.CASE_INSENSITIVE);

    /** Checks the fields are what qmrestore's pattern reads back unchanged. */
    public ProxmoxMapLine {
        Objects.requireNonNull(driveKey, "driveKey");
        Objects.requireNonNull(deviceName, "deviceName");
        Objects.requireNonNull(storage, "storage");
        Objects.requireNonNull(format, "format");
        if (deviceName.isEmpty() || deviceName.contains(":") || deviceName.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("device name '" + deviceName
                    + "' cannot be written in a map line (empty, a colon or white space)");
        }
        if (!STORAGE.matcher(storage).matches()) {
            throw new IllegalArgumentException("'" + storage + "' is not a Proxmox storage id");
        }
        if (!FORMATS.contains(format)) {
            throw new IllegalArgumentException("format '" + format
                    + "' is not one Proxmox restores (raw, qcow2, vmdk)");
        }
    }

    /** The map line vzdump writes for a drive: device {@code drive-<key>} (see {@link ProxmoxDriveKey#deviceName}). */
    public static ProxmoxMapLine of(ProxmoxDriveKey key, String storage, String format) {
        return new ProxmoxMapLine(key, key.deviceName(), storage, format);
    }

    /**
     * Reads a map line as qmrestore does.
     *
     * @return empty when the line is not a map line by qmrestore's pattern (qmrestore then ignores it)
     * @throws IllegalArgumentException when it is one but a field is one qmrestore refuses (drive key, format)
     */
    public static Optional<ProxmoxMapLine> parse(String line) {
        Matcher m = LINE.matcher(line.endsWith("\n") ? line.substring(0, line.length() - 1) : line);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new ProxmoxMapLine(new ProxmoxDriveKey(m.group(1)), m.group(2), m.group(3), m.group(4)));
    }

    /** The line, without a line feed. */
    public String toLine() {
        return PREFIX + driveKey.value() + ":" + deviceName + ":" + storage + ":" + format + ":";
    }
}
