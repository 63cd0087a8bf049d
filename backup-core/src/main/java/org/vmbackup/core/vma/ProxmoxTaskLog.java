package org.vmbackup.core.vma;

import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The {@code .log} beside a vzdump archive, which the Proxmox GUI shows as the backup's task log: lines of
 * {@code YYYY-MM-DD HH:MM:SS INFO: text} in the node's local time, saying what vzdump's log says (start, VM name,
 * disks with sizes, the archive, what was transferred, duration, end).
 */
final class ProxmoxTaskLog {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private final List<String> lines = new ArrayList<>();

    /** Adds {@code INFO: text} stamped {@code at}. */
    public ProxmoxTaskLog info(LocalDateTime at, String text) {
        lines.add(stamp(at) + " INFO: " + text);
        return this;
    }

    /** A time as the log writes it: {@code 2026-12-07 03:04:05}. */
    public static String stamp(LocalDateTime at) {
        return at.format(STAMP);
    }

    /** The log's text, one line feed after every line. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        lines.forEach(l -> sb.append(l).append('\n'));
        return sb.toString();
    }

    /** A size as vzdump's log writes a disk's ({@code 32G}, {@code 528K}), or {@code 70000 bytes} when uneven. */
    public static String size(long bytes) {
        String exact = ProxmoxConfigPlan.size(bytes);
        return Character.isDigit(exact.charAt(exact.length() - 1)) ? bytes + " bytes" : exact;
    }

    /** A duration as vzdump prints it: {@code HH:MM:SS}. */
    public static String duration(Duration d) {
        long s = Math.max(0, d.toSeconds());
        return String.format(Locale.ROOT, "%02d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
