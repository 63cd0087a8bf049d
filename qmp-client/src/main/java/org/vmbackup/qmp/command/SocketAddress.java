package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.Objects;

/**
 * QEMU's {@code SocketAddress} (flat form, used by {@code blockdev-add nbd} and {@code block-export-add}) and
 * its legacy form {@code SocketAddressLegacy} (used by {@code nbd-server-start}).
 */
public sealed interface SocketAddress {
    /** Writes the flat form: {@code {"type":"unix","path":...}}. */
    void writeFlat(JsonGenerator g) throws IOException;

    /** Writes the legacy form: {@code {"type":"unix","data":{"path":...}}}. */
    void writeLegacy(JsonGenerator g) throws IOException;

    /** A unix socket. */
    static SocketAddress unix(String path) {
        return new Unix(path);
    }

    /** A TCP address. */
    static SocketAddress inet(String host, int port) {
        return new Inet(host, Integer.toString(port));
    }

    /**
     * A unix socket path.
     *
     * @param path the socket path
     */
    record Unix(String path) implements SocketAddress {
        /** Rejects null. */
        public Unix {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public void writeFlat(JsonGenerator g) throws IOException {
            g.writeStartObject();
            g.writeStringField("type", "unix");
            g.writeStringField("path", path);
            g.writeEndObject();
        }

        @Override
        public void writeLegacy(JsonGenerator g) throws IOException {
            g.writeStartObject();
            g.writeStringField("type", "unix");
            g.writeObjectFieldStart("data");
            g.writeStringField("path", path);
            g.writeEndObject();
            g.writeEndObject();
        }
    }

    /**
     * A TCP host and port.
     *
     * @param host host name or address
     * @param port port number or service name
     */
    record Inet(String host, String port) implements SocketAddress {
        /** Rejects nulls. */
        public Inet {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(port, "port");
        }

        @Override
        public void writeFlat(JsonGenerator g) throws IOException {
            g.writeStartObject();
            g.writeStringField("type", "inet");
            g.writeStringField("host", host);
            g.writeStringField("port", port);
            g.writeEndObject();
        }

        @Override
        public void writeLegacy(JsonGenerator g) throws IOException {
            g.writeStartObject();
            g.writeStringField("type", "inet");
            g.writeObjectFieldStart("data");
            g.writeStringField("host", host);
            g.writeStringField("port", port);
            g.writeEndObject();
            g.writeEndObject();
        }
    }
}
