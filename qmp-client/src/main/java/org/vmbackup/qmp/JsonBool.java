package org.vmbackup.qmp;

/**
 * A JSON boolean.
 *
 * @param value the boolean
 */
public record JsonBool(boolean value) implements Json {
    /** {@code true}. */
    public static final JsonBool TRUE = new JsonBool(true);
    /** {@code false}. */
    public static final JsonBool FALSE = new JsonBool(false);

    /** The shared instance for a boolean. */
    public static JsonBool of(boolean value) {
        return value ? TRUE : FALSE;
    }

    @Override
    public String typeName() {
        return "boolean";
    }

    @Override
    public boolean asBoolean() {
        return value;
    }

    @Override
    public String toString() {
        return toJson();
    }
}
