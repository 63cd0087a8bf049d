package org.vmbackup.qmp;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable JSON value: the QMP wire model without a data-binding library.
 *
 * <p>Accessors that expect a type throw {@link QmpProtocolException} naming the expected and actual type,
 * because a wrong type in a QEMU reply means the peer did not follow its own schema.
 *
 * <pre>{@code
 * Json reply = Json.parse("{\"status\":\"running\",\"running\":true}");
 * String status = reply.get("status").asString();
 * }</pre>
 */
public sealed interface Json permits JsonObject, JsonArray, JsonString, JsonNumber, JsonBool, JsonNull {

    /** Parses exactly one JSON value from text (trailing content other than whitespace is an error). */
    static Json parse(String text) {
        return JsonCodec.parse(text);
    }

    /** A string value. */
    static JsonString of(String value) {
        return new JsonString(value);
    }

    /** A number value. */
    static JsonNumber of(long value) {
        return JsonNumber.of(value);
    }

    /** A boolean value. */
    static JsonBool of(boolean value) {
        return JsonBool.of(value);
    }

    /** This value as compact JSON text. */
    default String toJson() {
        return JsonCodec.write(this, false);
    }

    /** This value as indented JSON text, for humans. */
    default String toPrettyJson() {
        return JsonCodec.write(this, true);
    }

    /** The JSON type name ("object", "array", "string", "number", "boolean", "null"), for messages. */
    String typeName();

    /** Whether this is the JSON {@code null}. */
    default boolean isNull() {
        return false;
    }

    /** This value as an object. */
    default JsonObject asObject() {
        throw mismatch("an object");
    }

    /** This value as an array. */
    default JsonArray asArray() {
        throw mismatch("an array");
    }

    /** This value as a string. */
    default String asString() {
        throw mismatch("a string");
    }

    /** This value as a long (exactly: fractions and out-of-range numbers fail). */
    default long asLong() {
        throw mismatch("a number");
    }

    /** This value as an int (exactly). */
    default int asInt() {
        long v = asLong();
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new QmpProtocolException("expected an int but got " + v);
        }
        return (int) v;
    }

    /** This value as a double. */
    default double asDouble() {
        throw mismatch("a number");
    }

    /** This value as a boolean. */
    default boolean asBoolean() {
        throw mismatch("a boolean");
    }

    /**
     * The member {@code name} of this object, or {@code null} if absent.
     *
     * @throws QmpProtocolException if this is not an object
     */
    default Json get(String name) {
        return asObject().members().get(name);
    }

    /** The member {@code name} of this object, if present and not JSON null. */
    default Optional<Json> opt(String name) {
        Json v = get(name);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
    }

    /**
     * The member {@code name} of this object, which must be present.
     *
     * @throws QmpProtocolException naming the member if it is missing
     */
    default Json require(String name) {
        Json v = get(name);
        if (v == null) {
            throw new QmpProtocolException("missing member '" + name + "' in " + JsonCodec.abbreviate(this));
        }
        return v;
    }

    /** The elements of this array as a list. */
    default List<Json> elements() {
        return asArray().values();
    }

    /** The members of this object as a map (insertion order). */
    default Map<String, Json> members() {
        return asObject().members();
    }

    private QmpProtocolException mismatch(String expected) {
        return new QmpProtocolException("expected " + expected + " but got " + typeName() + " "
                + JsonCodec.abbreviate(this));
    }
}
