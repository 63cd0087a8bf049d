package org.vmbackup.vma;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Proxmox VE qemu-server VM config ({@code /etc/pve/qemu-server/<vmid>.conf}, and the {@code qemu-server.conf}
 * blob of a vzdump archive), kept as its lines: read, checked, given the map lines a backup adds, written back.
 *
 * <p>The rules come from qemu-server ({@code PVE::QemuServer::parse_vm_config}): a line is blank, a comment
 * ({@code #...}, the description), a section header ({@code [name]}: snapshots, {@code [PENDING]},
 * {@code [special:...]}) or a setting {@code key: value} with a lower-case key. What vzdump leaves out when it
 * assembles the archive's config ({@code PVE::VZDump::QemuServer::assemble}) is left out here too: every section
 * after the main one, {@code unused<N>:}, {@code lock:} and {@code parent:} lines, and old
 * {@code #qmdump#}/{@code #vzdump#} lines (the restore strips those again in {@code restore_update_config_line}).
 */
public final class ProxmoxConfig {
    /** The blob name vzdump stores the config under and qmrestore reads. */
    public static final String BLOB_NAME = "qemu-server.conf";
    private static final Pattern SETTING = Pattern.compile("([a-z][a-z_\\-]*\\d*):\\s*(.*?)\\s*");
    private static final Pattern SECTION = Pattern.compile("\\[[^\\]]*\\]\\s*");
    private static final Pattern DRIVE = Pattern.compile("(ide|scsi|virtio|sata|efidisk|tpmstate)\\d+");

    private final List<String> lines;

    private ProxmoxConfig(List<String> lines) {
        this.lines = List.copyOf(lines);
    }

    /**
     * Reads a config's text.
     *
     * @throws IllegalArgumentException naming the first line that is not what a qemu-server config holds, or when
     *     the text has no setting at all
     */
    public static ProxmoxConfig parse(String text) {
        Objects.requireNonNull(text, "text");
        List<String> out = new ArrayList<>();
        boolean setting = false;
        String[] split = text.split("\n", -1);
        for (int i = 0; i < split.length; i++) {
            String line = split[i];
            if (i == split.length - 1 && line.isEmpty()) {
                break; // the text's final line feed
            }
            if (line.isBlank() || line.startsWith("#") || SECTION.matcher(line).matches()) {
                out.add(line);
                continue;
            }
            if (!SETTING.matcher(line).matches()) {
                throw new IllegalArgumentException("line " + (i + 1) + " is not a qemu-server setting "
                        + "('key: value'): " + excerpt(line));
            }
            setting = true;
            out.add(line);
        }
        if (!setting) {
            throw new IllegalArgumentException("it holds no qemu-server setting ('key: value' lines such as "
                    + "'memory: 2048')");
        }
        return new ProxmoxConfig(out);
    }

    /** A config from settings in order (key to value), e.g. a generated one. */
    public static ProxmoxConfig of(Map<String, String> settings) {
        List<String> out = new ArrayList<>();
        settings.forEach((k, v) -> out.add(k + ": " + v));
        return parse(String.join("\n", out) + "\n");
    }

    private static String excerpt(String line) {
        return line.length() > 60 ? line.substring(0, 60) + "..." : line;
    }

    /** The lines in order, without line feeds. */
    public List<String> lines() {
        return lines;
    }

    /** The settings of the main section (before the first {@code [section]}), key to value, in order. */
    public Map<String, String> settings() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : lines) {
            if (SECTION.matcher(line).matches()) {
                break;
            }
            Matcher m = SETTING.matcher(line);
            if (!line.startsWith("#") && m.matches()) {
                out.put(m.group(1), m.group(2));
            }
        }
        return out;
    }

    /** The value of {@code key} in the main section. */
    public Optional<String> get(String key) {
        return Optional.ofNullable(settings().get(key));
    }

    /** The drive keys that have a setting in the main section ({@code virtio0: ...}, {@code efidisk0: ...}). */
    public List<ProxmoxDriveKey> driveKeys() {
        List<ProxmoxDriveKey> out = new ArrayList<>();
        for (String key : settings().keySet()) {
            if (DRIVE.matcher(key).matches() && ProxmoxDriveKey.isValid(key)) {
                out.add(new ProxmoxDriveKey(key));
            }
        }
        return out;
    }

    /**
     * The map lines, each as qmrestore reads it.
     *
     * @throws IllegalArgumentException when a map line has a drive key or format qmrestore refuses
     */
    public List<ProxmoxMapLine> mapLines() {
        List<ProxmoxMapLine> out = new ArrayList<>();
        for (String line : lines) {
            ProxmoxMapLine.parse(line).ifPresent(out::add);
        }
        return out;
    }

    /**
     * This config as vzdump stores it in an archive: the main section without what vzdump drops (see the class
     * comment), then {@code maps}.
     */
    public ProxmoxConfig forArchive(List<ProxmoxMapLine> maps) {
        List<String> out = new ArrayList<>();
        for (String line : lines) {
            if (SECTION.matcher(line).matches()) {
                break; // snapshots, pending changes and special sections are not part of a backup
            }
            if (line.startsWith("#qmdump#") || line.startsWith("#vzdump#") || line.startsWith("lock:")
                    || line.startsWith("parent:") || line.matches("unused\\d+:.*")) {
                continue;
            }
            out.add(line);
        }
        maps.forEach(m -> out.add(m.toLine()));
        return new ProxmoxConfig(out);
    }

    /** The text, one line feed after every line. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        lines.forEach(l -> sb.append(l).append('\n'));
        return sb.toString();
    }

    @Override
    public String toString() {
        return text();
    }
}
