package org.vmbackup.core.internal;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.vmbackup.qmp.command.MigrationCommands.Capability;
import org.vmbackup.qmp.command.MigrationCommands.MigrateSetCapabilities;

/**
 * The migration capabilities a background snapshot needs (background-snapshot and events on; the ones QEMU
 * refuses next to background-snapshot off), and the values they had before, to restore afterwards.
 */
public final class MigrationCapabilities {
    /** Capabilities QEMU 7.2 refuses together with background-snapshot. */
    static final List<String> CONFLICTING = List.of("postcopy-ram", "dirty-bitmaps", "postcopy-blocktime",
            "late-block-activate", "return-path", "multifd", "pause-before-switchover", "auto-converge",
            "release-ram", "rdma-pin-all", "xbzrle", "x-colo", "validate-uuid", "zero-copy-send",
            "postcopy-preempt", "compress", "block", "x-ignore-shared");

    private final Map<String, Boolean> before;

    private MigrationCapabilities(Map<String, Boolean> before) {
        this.before = before;
    }

    /** The current values, as {@code query-migrate-capabilities} answers them. */
    public static MigrationCapabilities current(List<Capability> result) {
        Map<String, Boolean> m = new LinkedHashMap<>();
        for (Capability c : result) {
            m.put(c.capability(), c.state());
        }
        return new MigrationCapabilities(m);
    }

    /** The {@code migrate-set-capabilities} for a background snapshot, or empty if nothing changes. */
    public Optional<MigrateSetCapabilities> forSnapshot() {
        return command(changes());
    }

    /** The command that puts back what {@link #forSnapshot()} changed, or empty if nothing changed. */
    public Optional<MigrateSetCapabilities> restore() {
        Map<String, Boolean> back = new LinkedHashMap<>();
        Map<String, Boolean> changes = changes();
        // background-snapshot goes off first: QEMU refuses conflicting capabilities while it is on
        if (changes.containsKey("background-snapshot")) {
            back.put("background-snapshot", before.getOrDefault("background-snapshot", false));
        }
        changes.keySet().forEach(k -> back.putIfAbsent(k, before.getOrDefault(k, false)));
        return command(back);
    }

    /** What must change, in the order to send it: conflicting ones off, then events and background-snapshot on. */
    private Map<String, Boolean> changes() {
        Map<String, Boolean> out = new LinkedHashMap<>();
        for (String c : CONFLICTING) {
            if (Boolean.TRUE.equals(before.get(c))) {
                out.put(c, false);
            }
        }
        if (!Boolean.TRUE.equals(before.get("events"))) {
            out.put("events", true);
        }
        if (!Boolean.TRUE.equals(before.get("background-snapshot"))) {
            out.put("background-snapshot", true);
        }
        return out;
    }

    private static Optional<MigrateSetCapabilities> command(Map<String, Boolean> caps) {
        if (caps.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new MigrateSetCapabilities(caps.entrySet().stream()
                .map(e -> new Capability(e.getKey(), e.getValue())).toList()));
    }

    /** Whether the capability exists in this QEMU. */
    public boolean has(String capability) {
        return before.containsKey(capability);
    }
}
