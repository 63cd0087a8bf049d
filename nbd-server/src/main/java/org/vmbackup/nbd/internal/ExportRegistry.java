package org.vmbackup.nbd.internal;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.vmbackup.nbd.NbdExport;

/** The exports of one server by name; safe to change while clients negotiate. */
public final class ExportRegistry {
    private final ConcurrentMap<String, ExportEntry> exports = new ConcurrentHashMap<>();

    /** Adds an export; returns false if the name is taken. */
    public boolean add(NbdExport export) {
        return exports.putIfAbsent(export.name(), new ExportEntry(export)) == null;
    }

    /** Removes an export by name; returns it, or null if there was none. */
    public ExportEntry remove(String name) {
        return exports.remove(name);
    }

    /** The export by exact name. */
    public ExportEntry get(String name) {
        return exports.get(name);
    }

    /**
     * The export a client means by {@code name}: the exact match, or for the empty name (the protocol's
     * "default export") the only export when there is exactly one.
     */
    public ExportEntry resolve(String name) {
        ExportEntry exact = exports.get(name);
        if (exact != null || !name.isEmpty()) {
            return exact;
        }
        Collection<ExportEntry> all = exports.values();
        return all.size() == 1 ? all.iterator().next() : null;
    }

    /** All exports in no particular order. */
    public List<ExportEntry> all() {
        return List.copyOf(exports.values());
    }
}
