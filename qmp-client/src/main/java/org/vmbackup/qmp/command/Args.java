package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.List;
import org.vmbackup.qmp.JsonCodec;
import org.vmbackup.qmp.JsonObject;

/** Writes optional argument members: a {@code null} value means "leave it out" (QEMU's default applies). */
final class Args {
    private Args() {
    }

    static void str(JsonGenerator g, String name, String value) throws IOException {
        if (value != null) {
            g.writeStringField(name, value);
        }
    }

    static void num(JsonGenerator g, String name, Long value) throws IOException {
        if (value != null) {
            g.writeNumberField(name, value);
        }
    }

    static void bool(JsonGenerator g, String name, Boolean value) throws IOException {
        if (value != null) {
            g.writeBooleanField(name, value);
        }
    }

    static void strings(JsonGenerator g, String name, List<String> values) throws IOException {
        if (values != null) {
            g.writeArrayFieldStart(name);
            for (String v : values) {
                g.writeString(v);
            }
            g.writeEndArray();
        }
    }

    /** Writes every member of {@code extra} (for options this library does not type). */
    static void extra(JsonGenerator g, JsonObject extra) throws IOException {
        if (extra != null) {
            for (var e : extra.members().entrySet()) {
                g.writeFieldName(e.getKey());
                JsonCodec.write(g, e.getValue());
            }
        }
    }

    static <T> T required(T value, String what) {
        if (value == null) {
            throw new IllegalArgumentException(what + " is required");
        }
        return value;
    }
}
