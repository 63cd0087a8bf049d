package org.vmbackup.qmp;

import java.util.Objects;

/**
 * A JSON string.
 *
 * @param value the text
 */
public record JsonString(String value) implements Json {
    /** Rejects null. */
    public JsonString {
        Objects.requireNonNull(value, "value");
    }

    @Override
    public String typeName() {
        return "string";
    }

    @Override
    public String asString() {
        return value;
    }

    @Override
    public String toString() {
        return toJson();
    }
}
