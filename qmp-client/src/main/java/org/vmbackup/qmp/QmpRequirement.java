package org.vmbackup.qmp;

import java.util.Objects;

/**
 * Something a caller needs from the connected QEMU, checked against {@code query-qmp-schema} by
 * {@link QmpSchema#check(QmpRequirement...)}. Argument paths are member names separated by dots; arrays are
 * looked through (e.g. {@code capabilities.capability} of {@code migrate-set-capabilities}).
 *
 * @param kind what is required
 * @param command the command (or event) name
 * @param variant for union arguments, the branch (e.g. {@code nbd} of {@code blockdev-add}), else null
 * @param path the argument path, or null for a command or event
 * @param value the enum value, or null
 * @param label how the message names the requirement
 */
public record QmpRequirement(Kind kind, String command, String variant, String path, String value, String label) {

    /** The kinds of requirement. */
    public enum Kind {
        /** A command exists. */
        COMMAND,
        /** An event exists. */
        EVENT,
        /** A command has an argument (path). */
        ARGUMENT,
        /** An enum-typed argument accepts a value. */
        ENUM_VALUE
    }

    /** Validates the components. */
    public QmpRequirement {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(label, "label");
    }

    /** The command exists. */
    public static QmpRequirement command(String name) {
        return new QmpRequirement(Kind.COMMAND, name, null, null, null, "command " + name);
    }

    /** The event exists. */
    public static QmpRequirement event(String name) {
        return new QmpRequirement(Kind.EVENT, name, null, null, null, "event " + name);
    }

    /** The command has the argument ({@code path} may go through nested objects with dots). */
    public static QmpRequirement argument(String command, String path) {
        return new QmpRequirement(Kind.ARGUMENT, command, null, path, null,
                "argument " + path + " of command " + command);
    }

    /** The union branch {@code variant} of the command's arguments has the member, e.g. blockdev-add nbd. */
    public static QmpRequirement variantArgument(String command, String variant, String path) {
        return new QmpRequirement(Kind.ARGUMENT, command, variant, path, null,
                "argument " + path + " of command " + command + " " + variant);
    }

    /** The enum-typed argument accepts {@code value}, e.g. ("blockdev-backup", "sync", "full"). */
    public static QmpRequirement enumValue(String command, String path, String value) {
        return new QmpRequirement(Kind.ENUM_VALUE, command, null, path, value,
                "value " + value + " for argument " + path + " of command " + command);
    }

    /** The migration capability exists ({@code migrate-set-capabilities capabilities.capability}). */
    public static QmpRequirement migrationCapability(String capability) {
        return new QmpRequirement(Kind.ENUM_VALUE, "migrate-set-capabilities", null, "capabilities.capability",
                capability, "migration capability " + capability);
    }

    /** The migration parameter exists ({@code migrate-set-parameters}). */
    public static QmpRequirement migrationParameter(String parameter) {
        return new QmpRequirement(Kind.ARGUMENT, "migrate-set-parameters", null, parameter, null,
                "migration parameter " + parameter);
    }

    /** The {@code blockdev-add} driver exists. */
    public static QmpRequirement blockdevDriver(String driver) {
        return new QmpRequirement(Kind.ENUM_VALUE, "blockdev-add", null, "driver", driver,
                "block driver " + driver);
    }
}
