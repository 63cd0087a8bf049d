package org.vmbackup.vma;

import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The table of contents in the reference {@code vma list} line formats (qemu-server parses them). */
public final class VmaListing {
    private static final DateTimeFormatter CTIME = DateTimeFormatter.ofPattern("EEE MMM ppd HH:mm:ss yyyy",
            Locale.US);

    private VmaListing() {
    }

    /** {@code CFG:} lines, then {@code DEV:}/{@code VMSTATE:} lines, then the {@code CTIME:} line (in this zone). */
    public static List<String> lines(VmaHeader header, ZoneId zone) {
        List<String> out = new ArrayList<>();
        for (VmaConfig c : header.configs()) {
            out.add("CFG: size: " + c.size() + " name: " + c.name());
        }
        for (VmaDevice d : header.devices()) {
            if (d.isVmstate()) {
                out.add("VMSTATE: dev_id=" + d.id() + " memory: " + d.size());
            } else {
                out.add("DEV: dev_id=" + d.id() + " size: " + d.size() + " devname: " + d.name());
            }
        }
        out.add("CTIME: " + ctime(header, zone));
        return out;
    }

    /** The creation time as {@code ctime(3)} prints it (without the newline). */
    public static String ctime(VmaHeader header, ZoneId zone) {
        return CTIME.format(header.ctime().atZone(zone));
    }
}
