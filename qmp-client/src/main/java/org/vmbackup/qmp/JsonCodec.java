package org.vmbackup.qmp;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Map;
import org.vmbackup.qmp.internal.JsonTreeBuilder;

/**
 * Reads and writes {@link Json} values with jackson-core's streaming API (no data binding).
 * Thread-safe: all methods are static and share one immutable factory.
 */
public final class JsonCodec {
    private static final JsonFactory FACTORY = factory(64 << 20);

    private JsonCodec() {
    }

    /**
     * A Jackson factory whose limits allow strings and documents up to {@code maxBytes}.
     *
     * @param maxBytes the largest string or document accepted
     * @return a new factory
     */
    public static JsonFactory factory(int maxBytes) {
        return JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxStringLength(maxBytes).maxNumberLength(1000).maxNestingDepth(1000).build())
                .build();
    }

    /**
     * Parses exactly one JSON value.
     *
     * @param text JSON text
     * @return the value
     * @throws QmpProtocolException if the text is not exactly one JSON value
     */
    public static Json parse(String text) {
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonTreeBuilder builder = new JsonTreeBuilder();
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                Json done = builder.accept(t, p);
                if (done != null) {
                    if (p.nextToken() != null) {
                        throw new QmpProtocolException("trailing content after JSON value at offset "
                                + p.currentTokenLocation().getCharOffset());
                    }
                    return done;
                }
            }
            throw new QmpProtocolException("no JSON value in input (" + text.length() + " chars)");
        } catch (JsonProcessingException e) {
            throw new QmpProtocolException("malformed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes a value to a generator.
     *
     * @param gen the target
     * @param value the value
     * @throws IOException from the generator
     */
    public static void write(JsonGenerator gen, Json value) throws IOException {
        if (value instanceof JsonObject o) {
            gen.writeStartObject();
            for (Map.Entry<String, Json> e : o.members().entrySet()) {
                gen.writeFieldName(e.getKey());
                write(gen, e.getValue());
            }
            gen.writeEndObject();
        } else if (value instanceof JsonArray a) {
            gen.writeStartArray();
            for (Json v : a.values()) {
                write(gen, v);
            }
            gen.writeEndArray();
        } else if (value instanceof JsonString s) {
            gen.writeString(s.value());
        } else if (value instanceof JsonNumber n) {
            gen.writeNumber(n.value());
        } else if (value instanceof JsonBool b) {
            gen.writeBoolean(b.value());
        } else {
            gen.writeNull();
        }
    }

    /**
     * A value as JSON text.
     *
     * @param value the value
     * @param pretty indent for humans
     * @return the text
     */
    public static String write(Json value, boolean pretty) {
        StringWriter out = new StringWriter();
        try (JsonGenerator gen = FACTORY.createGenerator(out)) {
            if (pretty) {
                gen.useDefaultPrettyPrinter();
            }
            write(gen, value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** The JSON text of a value cut to about 200 characters, for error messages. */
    static String abbreviate(Json value) {
        String s = write(value, false);
        return s.length() <= 200 ? s : s.substring(0, 200) + "...(" + s.length() + " chars)";
    }
}
