package org.vmbackup.store;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Small JSON objects as maps of String, Long, Boolean, null, List and Map (jackson-core's streaming API only),
 * and accessors that name the missing or mistyped member.
 */
final class Json {
    private static final JsonFactory FACTORY = new JsonFactory();

    private Json() {
    }

    static byte[] write(Map<String, ?> obj) {
        var out = new ByteArrayOutputStream();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            writeValue(g, obj);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void writeValue(JsonGenerator g, Object v) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Number n) {
            g.writeNumber(n.longValue());
        } else if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (var e : m.entrySet()) {
                g.writeFieldName((String) e.getKey());
                writeValue(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof List<?> l) {
            g.writeStartArray();
            for (Object o : l) {
                writeValue(g, o);
            }
            g.writeEndArray();
        } else {
            throw new IllegalArgumentException("cannot write " + v.getClass());
        }
    }

    /** Parses one object; {@code what} names it in errors. */
    static Map<String, Object> read(byte[] data, String what) throws CorruptDataException {
        try (JsonParser p = FACTORY.createParser(data)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new CorruptDataException(what + " is not a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) readValue(p);
            if (p.nextToken() != null) {
                throw new CorruptDataException(what + " has data after its JSON object");
            }
            return m;
        } catch (IOException e) {
            if (e instanceof CorruptDataException c) {
                throw c;
            }
            throw new CorruptDataException(what + " is not valid JSON");
        }
    }

    private static Object readValue(JsonParser p) throws IOException {
        switch (p.currentToken()) {
            case START_OBJECT: {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String k = p.currentName();
                    p.nextToken();
                    m.put(k, readValue(p));
                }
                return m;
            }
            case START_ARRAY: {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(readValue(p));
                }
                return l;
            }
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
                return p.getLongValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return null;
            default:
                throw new IOException("unexpected " + p.currentToken());
        }
    }

    static String string(Map<String, Object> m, String key, String what) throws CorruptDataException {
        if (m.get(key) instanceof String s) {
            return s;
        }
        throw new CorruptDataException(what + ": member '" + key + "' is missing or not a string");
    }

    static long number(Map<String, Object> m, String key, String what) throws CorruptDataException {
        if (m.get(key) instanceof Long l) {
            return l;
        }
        throw new CorruptDataException(what + ": member '" + key + "' is missing or not a whole number");
    }

    static boolean bool(Map<String, Object> m, String key, String what) throws CorruptDataException {
        if (m.get(key) instanceof Boolean b) {
            return b;
        }
        throw new CorruptDataException(what + ": member '" + key + "' is missing or not true/false");
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> objects(Map<String, Object> m, String key, String what) throws CorruptDataException {
        if (m.get(key) instanceof List<?> l && l.stream().allMatch(o -> o instanceof Map)) {
            return (List<Map<String, Object>>) l;
        }
        throw new CorruptDataException(what + ": member '" + key + "' is missing or not a list of objects");
    }
}
