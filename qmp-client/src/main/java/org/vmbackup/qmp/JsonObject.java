package org.vmbackup.qmp;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A JSON object: members in the order they were added or read.
 *
 * @param members the members, copied into an unmodifiable map
 */
public record JsonObject(Map<String, Json> members) implements Json {
    /** The empty object {@code {}}. */
    public static final JsonObject EMPTY = new JsonObject(Map.of());

    /** Copies the members (order preserved); null keys or values are rejected. */
    public JsonObject {
        Map<String, Json> copy = new LinkedHashMap<>(members.size() * 2);
        members.forEach((k, v) -> copy.put(Objects.requireNonNull(k, "key"), Objects.requireNonNull(v, k)));
        members = Collections.unmodifiableMap(copy);
    }

    /** A builder for an object. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String typeName() {
        return "object";
    }

    @Override
    public JsonObject asObject() {
        return this;
    }

    @Override
    public String toString() {
        return toJson();
    }

    /** Builds a {@link JsonObject}; {@code null} values are skipped, so optional members can be passed as is. */
    public static final class Builder {
        private final Map<String, Json> members = new LinkedHashMap<>();

        private Builder() {
        }

        /** Adds a member unless {@code value} is null. */
        public Builder put(String name, Json value) {
            if (value != null) {
                members.put(name, value);
            }
            return this;
        }

        /** Adds a string member unless {@code value} is null. */
        public Builder put(String name, String value) {
            return value == null ? this : put(name, new JsonString(value));
        }

        /** Adds a number member unless {@code value} is null. */
        public Builder put(String name, Long value) {
            return value == null ? this : put(name, JsonNumber.of(value));
        }

        /** Adds a number member unless {@code value} is null. */
        public Builder put(String name, Integer value) {
            return value == null ? this : put(name, JsonNumber.of(value));
        }

        /** Adds a boolean member unless {@code value} is null. */
        public Builder put(String name, Boolean value) {
            return value == null ? this : put(name, JsonBool.of(value));
        }

        /** The object. */
        public JsonObject build() {
            return new JsonObject(members);
        }
    }
}
