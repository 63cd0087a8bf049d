package org.vmbackup.qmp.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonArray;
import org.vmbackup.qmp.JsonBool;
import org.vmbackup.qmp.JsonNull;
import org.vmbackup.qmp.JsonNumber;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.JsonString;
import org.vmbackup.qmp.QmpProtocolException;

/**
 * Builds {@link Json} trees from a token stream one token at a time, so it works with Jackson's non-blocking
 * parser, which hands out tokens as bytes arrive. Not thread-safe; one per connection.
 */
public final class JsonTreeBuilder {
    private static final int MAX_SCALE = 2000;
    private final Deque<Object> stack = new ArrayDeque<>();
    private final Deque<String> names = new ArrayDeque<>();
    private String pendingName;

    /**
     * Accepts the parser's current token.
     *
     * @return the completed root value when this token ends one, otherwise {@code null}
     */
    public Json accept(JsonToken token, JsonParser parser) throws IOException {
        switch (token) {
            case START_OBJECT -> {
                pushName();
                stack.push(new LinkedHashMap<String, Json>());
                return null;
            }
            case START_ARRAY -> {
                pushName();
                stack.push(new ArrayList<Json>());
                return null;
            }
            case FIELD_NAME -> {
                pendingName = parser.currentName();
                return null;
            }
            case END_OBJECT, END_ARRAY -> {
                Object top = stack.pop();
                Json done = top instanceof Map<?, ?> m ? new JsonObject(cast(m)) : new JsonArray(castList(top));
                pendingName = names.pop();
                return add(done);
            }
            case VALUE_STRING -> {
                return add(new JsonString(parser.getText()));
            }
            case VALUE_NUMBER_INT -> {
                return add(switch (parser.getNumberType()) {
                    case INT, LONG -> JsonNumber.of(parser.getLongValue());
                    default -> new JsonNumber(new BigDecimal(parser.getBigIntegerValue()));
                });
            }
            case VALUE_NUMBER_FLOAT -> {
                return add(new JsonNumber(bounded(parser.getDecimalValue())));
            }
            case VALUE_TRUE -> {
                return add(JsonBool.TRUE);
            }
            case VALUE_FALSE -> {
                return add(JsonBool.FALSE);
            }
            case VALUE_NULL -> {
                return add(JsonNull.INSTANCE);
            }
            default -> {
                return null;
            }
        }
    }

    /** Whether a value is partly built (the stream stopped inside a value). */
    public boolean inValue() {
        return !stack.isEmpty();
    }

    /** Drops any partly built value. */
    public void reset() {
        stack.clear();
        names.clear();
        pendingName = null;
    }

    private void pushName() {
        // ArrayDeque refuses nulls, so the root and array elements record an empty marker.
        names.push(pendingName == null ? "" : pendingName);
        pendingName = null;
    }

    /**
     * The text length limit does not bound an exponent: "1e50000000" is 10 bytes, but its plain digits (an error
     * message's toPlainString, asBigInteger) are 50 million. QMP numbers are 64-bit integers and doubles, whose
     * exponents stay within a few hundred, so a larger one is a broken peer.
     */
    private static BigDecimal bounded(BigDecimal d) {
        if (Math.abs((long) d.scale()) > MAX_SCALE) {
            throw new QmpProtocolException("JSON number with an exponent out of range: " + d);
        }
        return d;
    }

    @SuppressWarnings("unchecked")
    private Json add(Json value) {
        if (stack.isEmpty()) {
            pendingName = null;
            return value;
        }
        Object top = stack.peek();
        if (top instanceof Map<?, ?> m) {
            ((Map<String, Json>) m).put(pendingName, value);
            pendingName = null;
        } else {
            ((List<Json>) top).add(value);
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Json> cast(Map<?, ?> m) {
        return (Map<String, Json>) m;
    }

    @SuppressWarnings("unchecked")
    private static List<Json> castList(Object o) {
        return (List<Json>) o;
    }
}
