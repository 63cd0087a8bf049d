package org.vmbackup.vma;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The file name of a vzdump VM backup, {@code vzdump-qemu-<vmid>-YYYY_MM_DD-HH_MM_SS.vma[.zst|.gz]}, and the
 * names of the side files Proxmox keeps beside it. Proxmox storages list a backup only under such a name and
 * read the VMID and the backup time (local time) from it ({@code PVE::Storage::archive_info}); the log is the
 * name's stem plus {@code .log}, the notes the whole name plus {@code .notes}, protection the whole name plus
 * {@code .protected} ({@code PVE::Storage::Plugin} {@code LOG_EXT}, {@code NOTES_EXT},
 * {@code PVE::Storage::protection_file_path}).
 *
 * @param vmid the VM id, {@value #MIN_VMID} to {@value #MAX_VMID}
 * @param time the backup's start in the node's local time (whole seconds are kept)
 * @param extension {@code vma}, {@code vma.zst} or {@code vma.gz} (the compressions this library writes)
 */
public record ProxmoxArchiveName(int vmid, LocalDateTime time, String extension) {
    /** The smallest VMID Proxmox gives a guest (its name pattern {@code [1-9][0-9]{2,8}}). */
    public static final int MIN_VMID = 100;
    /** The largest. */
    public static final int MAX_VMID = 999_999_999;
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy_MM_dd-HH_mm_ss");
    private static final Pattern NAME = Pattern.compile(
            "vzdump-qemu-([1-9][0-9]{2,8})-(\\d{4}_\\d{2}_\\d{2}-\\d{2}_\\d{2}_\\d{2})"
                    + "\\.(vma(?:\\.(?:gz|lzo|zst|bz2))?)");

    /** Checks the VMID range and the extension. */
    public ProxmoxArchiveName {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(extension, "extension");
        requireVmid(vmid);
        if (!extension.matches("vma(\\.(gz|lzo|zst|bz2))?")) {
            throw new IllegalArgumentException("'" + extension + "' is not a vzdump VMA extension");
        }
        time = time.withNano(0);
    }

    /**
     * Returns {@code vmid} if Proxmox accepts it as a VM id.
     *
     * @throws IllegalArgumentException saying the range otherwise
     */
    public static int requireVmid(long vmid) {
        if (vmid < MIN_VMID || vmid > MAX_VMID) {
            throw new IllegalArgumentException("VMID " + vmid + " is out of Proxmox's range " + MIN_VMID + " to "
                    + MAX_VMID);
        }
        return (int) vmid;
    }

    /** Reads a file name as Proxmox does; empty when Proxmox would not list it as a standard VM backup. */
    public static Optional<ProxmoxArchiveName> parse(String fileName) {
        Matcher m = NAME.matcher(fileName);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new ProxmoxArchiveName(Integer.parseInt(m.group(1)),
                    LocalDateTime.parse(m.group(2), STAMP), m.group(3)));
        } catch (java.time.format.DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** The extension for an archive this library writes: {@code vma}, {@code vma.zst} or {@code vma.gz}. */
    public static String extensionFor(VmaCompression compression) {
        return switch (compression) {
            case NONE -> "vma";
            case ZSTD -> "vma.zst";
            case GZIP -> "vma.gz";
        };
    }

    /** The name without the extension: {@code vzdump-qemu-<vmid>-<stamp>}. */
    public String stem() {
        return "vzdump-qemu-" + vmid + "-" + time.format(STAMP);
    }

    /** The archive's file name. */
    public String fileName() {
        return stem() + "." + extension;
    }

    /** The task log's file name. */
    public String logName() {
        return stem() + ".log";
    }

    /** The notes file's name (its first line is shown as the backup's notes). */
    public String notesName() {
        return fileName() + ".notes";
    }

    /** The protection marker's name (a protected backup is never pruned or removed). */
    public String protectedName() {
        return fileName() + ".protected";
    }

    @Override
    public String toString() {
        return fileName();
    }
}
