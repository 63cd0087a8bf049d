package org.vmbackup.qmp;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Writes one command as the compact bytes QEMU receives: {@code {"execute":..,"arguments":{..},"id":..}\n}. */
final class QmpRequestEncoder {
    private static final JsonFactory FACTORY = JsonCodec.factory(1 << 20);

    private QmpRequestEncoder() {
    }

    static byte[] encode(QmpCommand<?> command, String id) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        try (JsonGenerator gen = FACTORY.createGenerator(out)) {
            gen.writeStartObject();
            gen.writeStringField("execute", command.name());
            gen.writeFieldName("arguments");
            gen.writeStartObject();
            command.writeArguments(gen);
            gen.writeEndObject();
            gen.writeStringField("id", id);
            gen.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.write('\n');
        return out.toByteArray();
    }
}
