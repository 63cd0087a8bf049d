package org.vmbackup.qmp;

import java.util.List;

/**
 * A JSON array.
 *
 * @param values the elements, copied into an unmodifiable list
 */
public record JsonArray(List<Json> values) implements Json {
    /** Copies the elements; null elements are rejected. */
    public JsonArray {
        values = List.copyOf(values);
    }

    /** An array of the given values. */
    public static JsonArray of(Json... values) {
        return new JsonArray(List.of(values));
    }

    /** An array of strings. */
    public static JsonArray ofStrings(List<String> values) {
        return new JsonArray(values.stream().<Json>map(JsonString::new).toList());
    }

    @Override
    public String typeName() {
        return "array";
    }

    @Override
    public JsonArray asArray() {
        return this;
    }

    @Override
    public String toString() {
        return toJson();
    }
}
