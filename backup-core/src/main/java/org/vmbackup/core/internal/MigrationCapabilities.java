package org.vmbackup.core.internal;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonArray;
import org.vmbackup.qmp.JsonBool;
import org.vmbackup.qmp.JsonObject;

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

    /** The current values from a {@code query-migrate-capabilities} return value. */
    public static MigrationCapabilities current(Json result) {
        Map<String, Boolean> m = new LinkedHashMap<>();
        for (Json c : result.elements()) {
            m.put(c.require("capability").asString(), c.require("state").asBoolean());
        }
        return new MigrationCapabilities(m);
    }

    /** The {@code migrate-set-capabilities} arguments for a background snapshot, or null if nothing changes. */
    public JsonObject forSnapshot() {
        return args(changes());
    }

    /** The arguments that put back what {@link #forSnapshot()} changed, or null if nothing changed. */
    public JsonObject restore() {
        Map<String, Boolean> back = new LinkedHashMap<>();
        Map<String, Boolean> changes = changes();
        // background-snapshot goes off first: QEMU refuses conflicting capabilities while it is on
        if (changes.containsKey("background-snapshot")) {
            back.put("background-snapshot", before.getOrDefault("background-snapshot", false));
        }
        changes.keySet().forEach(k -> back.putIfAbsent(k, before.getOrDefault(k, false)));
        return args(back);
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

    private static JsonObject args(Map<String, Boolean> caps) {
        if (caps.isEmpty()) {
            return null;
        }
        Json[] list = caps.entrySet().stream().map(e -> (Json) JsonObject.builder().put("capability", e.getKey())
                .put("state", JsonBool.of(e.getValue())).build()).toArray(Json[]::new);
        return JsonObject.builder().put("capabilities", JsonArray.of(list)).build();
    }

    /** Whether the capability exists in this QEMU. */
    public boolean has(String capability) {
        return before.containsKey(capability);
    }
}
