package org.vmbackup.qmp.agent;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonCodec;
import org.vmbackup.qmp.internal.JsonTreeBuilder;

/**
 * Splits the guest agent's byte stream into JSON values. The agent precedes the reply to
 * {@code guest-sync-delimited} with a 0xFF byte, which never occurs in UTF-8 JSON: everything before it is
 * dropped, so a half-sent stale reply or line noise cannot swallow the reply that follows. Malformed input is
 * reported once and then skipped up to the next 0xFF. Not thread-safe.
 */
final class QgaDecoder {
    static final int DELIMITER = 0xFF;

    /** What the stream held. */
    sealed interface Item permits Value, Garbage {
    }

    /** One complete JSON value. */
    record Value(Json json) implements Item {
    }

    /** Bytes that are not JSON; everything up to the next 0xFF is discarded. */
    record Garbage(String why) implements Item {
    }

    private final int maxValueBytes;
    private final JsonFactory factory;
    private JsonParser parser;
    private ByteArrayFeeder feeder;
    private JsonTreeBuilder builder;
    private boolean discarding;
    private long valueBytes;

    QgaDecoder(int maxValueBytes) {
        this.maxValueBytes = maxValueBytes;
        this.factory = JsonCodec.factory(maxValueBytes);
        reset();
    }

    /** Feeds bytes; returns the values (and garbage reports) they complete, in order. */
    List<Item> feed(byte[] bytes, int offset, int length) {
        List<Item> items = new ArrayList<>();
        int start = offset;
        int end = offset + length;
        for (int i = offset; i <= end; i++) {
            if (i == end || (bytes[i] & 0xFF) == DELIMITER) {
                if (!discarding && i > start) {
                    parse(bytes, start, i - start, items);
                }
                if (i < end) {
                    // The delimiter: whatever came before it is stale; parse afresh from the next byte.
                    reset();
                }
                start = i + 1;
            }
        }
        return items;
    }

    private void parse(byte[] bytes, int offset, int length, List<Item> items) {
        try {
            feeder.feedInput(bytes, offset, offset + length); // start and end, not a length
            valueBytes += length;
            JsonToken t;
            while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
                Json value = builder.accept(t, parser);
                if (value != null) {
                    items.add(new Value(value));
                    valueBytes = 0;
                }
            }
            if (valueBytes > maxValueBytes) {
                garbage(items, "a value larger than " + maxValueBytes + " bytes");
            }
        } catch (JsonProcessingException e) {
            garbage(items, "malformed JSON: " + e.getOriginalMessage());
        } catch (IOException | RuntimeException e) {
            garbage(items, "unparsable input: " + e);
        }
    }

    private void garbage(List<Item> items, String why) {
        items.add(new Garbage(why));
        discarding = true;
    }

    private void reset() {
        try {
            if (parser != null) {
                parser.close();
            }
            parser = factory.createNonBlockingByteArrayParser();
        } catch (IOException e) {
            throw new IllegalStateException("cannot create a non-blocking JSON parser", e);
        }
        feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
        builder = new JsonTreeBuilder();
        discarding = false;
        valueBytes = 0;
    }
}
