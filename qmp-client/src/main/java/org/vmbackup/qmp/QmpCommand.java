package org.vmbackup.qmp;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.time.Duration;

/**
 * A typed QMP command: its name, how to write its arguments and how to decode its return value.
 * Implementations are immutable records (see {@code org.vmbackup.qmp.command}).
 *
 * @param <R> the decoded return value ({@link Void} for commands returning {@code {}})
 */
public interface QmpCommand<R> {
    /** The QMP command name, e.g. {@code "query-status"}. */
    String name();

    /**
     * Writes the members of the {@code arguments} object (the enclosing braces are written by the client).
     * The default writes none.
     *
     * @param gen the generator, positioned inside the arguments object
     * @throws IOException from the generator
     */
    default void writeArguments(JsonGenerator gen) throws IOException {
    }

    /**
     * Decodes the {@code return} value.
     *
     * @param result the {@code return} member of the reply
     * @return the typed result
     * @throws QmpProtocolException if the value does not have the documented shape
     */
    R decode(Json result);

    /**
     * How long this command may take by default, or {@code null} for the client's default
     * ({@link QmpClientOptions#commandTimeout()}).
     */
    default Duration defaultTimeout() {
        return null;
    }

    /** An untyped command: {@code arguments} as given (may be null) and the raw {@code return} value. */
    static QmpCommand<Json> raw(String name, JsonObject arguments) {
        return new RawCommand(name, arguments);
    }

    /**
     * An untyped command.
     *
     * @param name the command name
     * @param arguments the arguments, or null for none
     */
    record RawCommand(String name, JsonObject arguments) implements QmpCommand<Json> {
        @Override
        public void writeArguments(JsonGenerator gen) throws IOException {
            if (arguments != null) {
                for (var e : arguments.members().entrySet()) {
                    gen.writeFieldName(e.getKey());
                    JsonCodec.write(gen, e.getValue());
                }
            }
        }

        @Override
        public Json decode(Json result) {
            return result;
        }
    }
}
