package org.vmbackup.qmp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An index of the connected QEMU's {@code query-qmp-schema}: which commands, events, arguments and enum values
 * exist. Type names in the schema are masked numbers, so lookups go from a command or event name through its
 * {@code arg-type}. Immutable and thread-safe. Obtain with {@link QmpClient#schema()}.
 *
 * <pre>{@code
 * QmpSchema schema = qmp.schema().join();
 * schema.require(QmpRequirement.command("blockdev-backup"),
 *         QmpRequirement.migrationCapability("background-snapshot"));
 * }</pre>
 */
public final class QmpSchema {
    private final QmpVersion version;
    private final Map<String, JsonObject> entries = new HashMap<>();

    /**
     * Indexes a schema.
     *
     * @param version the QEMU version, for messages
     * @param schema the {@code query-qmp-schema} return value (an array of SchemaInfo)
     */
    public QmpSchema(QmpVersion version, Json schema) {
        this.version = version;
        for (Json e : schema.elements()) {
            entries.put(e.require("name").asString(), e.asObject());
        }
    }

    /** The QEMU version this schema belongs to. */
    public QmpVersion version() {
        return version;
    }

    /** How many schema entries there are. */
    public int size() {
        return entries.size();
    }

    /** Whether the command exists. */
    public boolean hasCommand(String name) {
        return isMeta(name, "command");
    }

    /** Whether the event exists. */
    public boolean hasEvent(String name) {
        return isMeta(name, "event");
    }

    /** Whether a requirement is met. */
    public boolean satisfies(QmpRequirement r) {
        switch (r.kind()) {
            case COMMAND:
                return hasCommand(r.command());
            case EVENT:
                return hasEvent(r.command());
            default:
                if (!hasCommand(r.command())) {
                    return false;
                }
                List<String> types = resolve(entries.get(r.command()).require("arg-type").asString(), r.variant(),
                        r.path().split("\\."));
                if (r.kind() == QmpRequirement.Kind.ARGUMENT) {
                    return !types.isEmpty();
                }
                for (String t : types) {
                    if (enumValues(t).contains(r.value())) {
                        return true;
                    }
                }
                return false;
        }
    }

    /**
     * Checks requirements.
     *
     * @param requirements what the caller will use
     * @return one message per missing requirement, e.g. "QEMU 7.2.0 has no migration capability foo"; empty
     *     if all exist
     */
    public List<String> check(QmpRequirement... requirements) {
        return check(List.of(requirements));
    }

    /** Checks requirements; see {@link #check(QmpRequirement...)}. */
    public List<String> check(List<QmpRequirement> requirements) {
        List<String> missing = new ArrayList<>();
        for (QmpRequirement r : requirements) {
            if (!satisfies(r)) {
                missing.add("QEMU " + version + " has no " + r.label());
            }
        }
        return missing;
    }

    /**
     * Requires that everything exists.
     *
     * @param requirements what the caller will use
     * @throws QmpException listing every missing requirement by name
     */
    public void require(QmpRequirement... requirements) {
        List<String> missing = check(requirements);
        if (!missing.isEmpty()) {
            throw new QmpException(String.join("; ", missing));
        }
    }

    private boolean isMeta(String name, String meta) {
        JsonObject e = entries.get(name);
        return e != null && meta.equals(e.opt("meta-type").map(Json::asString).orElse(""));
    }

    /** The types reached from {@code type} by following {@code path}; several when unions/alternates branch. */
    private List<String> resolve(String type, String variant, String[] path) {
        List<String> current = List.of(type);
        for (int i = 0; i < path.length; i++) {
            List<String> next = new ArrayList<>();
            for (String t : current) {
                for (String obj : objectsOf(t, i == 0 ? variant : null, new HashSet<>())) {
                    memberType(obj, path[i], new HashSet<>(), next);
                }
            }
            if (next.isEmpty()) {
                return List.of();
            }
            current = next;
        }
        return current;
    }

    /** Object types a value of {@code type} may be, looking through arrays and alternates. */
    private List<String> objectsOf(String type, String variant, Set<String> seen) {
        List<String> out = new ArrayList<>();
        if (!seen.add(type)) {
            return out;
        }
        JsonObject e = entries.get(type);
        if (e == null) {
            return out;
        }
        String meta = e.opt("meta-type").map(Json::asString).orElse("");
        switch (meta) {
            case "object" -> out.add(type);
            case "array" -> out.addAll(objectsOf(e.require("element-type").asString(), variant, seen));
            case "alternate" -> {
                for (Json m : e.require("members").elements()) {
                    out.addAll(objectsOf(m.require("type").asString(), variant, seen));
                }
            }
            default -> { }
        }
        return variant == null ? out : out.stream().map(o -> variantType(o, variant)).filter(v -> v != null)
                .toList();
    }

    private String variantType(String objectType, String variant) {
        for (Json v : entries.get(objectType).opt("variants").map(Json::elements).orElse(List.of())) {
            if (variant.equals(v.require("case").asString())) {
                return v.require("type").asString();
            }
        }
        return null;
    }

    /** Adds the types of member {@code name} of an object, including its union branches. */
    private void memberType(String objectType, String name, Set<String> seen, List<String> out) {
        if (!seen.add(objectType)) {
            return;
        }
        JsonObject e = entries.get(objectType);
        if (e == null) {
            return;
        }
        for (Json m : e.opt("members").map(Json::elements).orElse(List.of())) {
            if (name.equals(m.require("name").asString())) {
                out.add(m.require("type").asString());
            }
        }
        for (Json v : e.opt("variants").map(Json::elements).orElse(List.of())) {
            memberType(v.require("type").asString(), name, seen, out);
        }
    }

    /** The values of an enum type, looking through arrays and alternates. */
    private Set<String> enumValues(String type) {
        Set<String> out = new HashSet<>();
        collectEnum(type, out, new HashSet<>());
        return out;
    }

    private void collectEnum(String type, Set<String> out, Set<String> seen) {
        if (!seen.add(type)) {
            return;
        }
        JsonObject e = entries.get(type);
        if (e == null) {
            return;
        }
        String meta = e.opt("meta-type").map(Json::asString).orElse("");
        switch (meta) {
            case "enum" -> {
                e.opt("values").ifPresent(v -> v.elements().forEach(x -> out.add(x.asString())));
                e.opt("members").ifPresent(v -> v.elements().forEach(x -> out.add(x.require("name").asString())));
            }
            case "array" -> collectEnum(e.require("element-type").asString(), out, seen);
            case "alternate" -> e.require("members").elements()
                    .forEach(m -> collectEnum(m.require("type").asString(), out, seen));
            default -> { }
        }
    }
}
