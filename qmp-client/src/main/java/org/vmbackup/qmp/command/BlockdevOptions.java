package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.Objects;
import org.vmbackup.qmp.JsonObject;

/**
 * The {@code blockdev-add} options for the drivers a backup uses ({@code file}, {@code raw}, {@code qcow2},
 * {@code nbd}), plus {@link Generic} for any other driver. Null members are left out (QEMU's default).
 */
public sealed interface BlockdevOptions {
    /** The driver name. */
    String driver();

    /** The node name ({@code null}: QEMU generates one, which is rarely what you want). */
    String nodeName();

    /** Writes the members of the options object (driver, node-name and the driver's own members). */
    void writeMembers(JsonGenerator g) throws IOException;

    /** Writes the options as a JSON object. */
    default void writeObject(JsonGenerator g) throws IOException {
        g.writeStartObject();
        writeMembers(g);
        g.writeEndObject();
    }

    /**
     * A reference to a child node: an existing node's name, or options for a new child node.
     *
     * @param nodeName the existing node, or null
     * @param options the new child's options, or null
     */
    record Ref(String nodeName, BlockdevOptions options) {
        /** Exactly one of the two. */
        public Ref {
            if ((nodeName == null) == (options == null)) {
                throw new IllegalArgumentException("a block reference needs exactly one of nodeName and options");
            }
        }

        /** A reference to an existing node. */
        public static Ref node(String nodeName) {
            return new Ref(nodeName, null);
        }

        /** A new child node. */
        public static Ref of(BlockdevOptions options) {
            return new Ref(null, options);
        }

        void write(JsonGenerator g, String field) throws IOException {
            g.writeFieldName(field);
            if (nodeName != null) {
                g.writeString(nodeName);
            } else {
                options.writeObject(g);
            }
        }
    }

    /**
     * The {@code file} protocol driver: a host file or block device.
     *
     * @param nodeName the node name
     * @param filename the path (or {@code /dev/fdset/N})
     * @param readOnly open read-only, or null
     * @param aio {@code "threads"}, {@code "native"}, {@code "io_uring"}, or null
     * @param locking {@code "auto"}, {@code "on"}, {@code "off"}, or null
     */
    record File(String nodeName, String filename, Boolean readOnly, String aio, String locking)
            implements BlockdevOptions {
        /** Requires a filename. */
        public File {
            Objects.requireNonNull(filename, "filename");
        }

        /** A read-write file node with QEMU's defaults. */
        public File(String nodeName, String filename) {
            this(nodeName, filename, null, null, null);
        }

        @Override
        public String driver() {
            return "file";
        }

        @Override
        public void writeMembers(JsonGenerator g) throws IOException {
            g.writeStringField("driver", "file");
            Args.str(g, "node-name", nodeName);
            g.writeStringField("filename", filename);
            Args.bool(g, "read-only", readOnly);
            Args.str(g, "aio", aio);
            Args.str(g, "locking", locking);
        }
    }

    /**
     * The {@code raw} format driver.
     *
     * @param nodeName the node name
     * @param file the protocol node below
     * @param readOnly read-only, or null
     */
    record Raw(String nodeName, Ref file, Boolean readOnly) implements BlockdevOptions {
        /** Requires a file. */
        public Raw {
            Objects.requireNonNull(file, "file");
        }

        @Override
        public String driver() {
            return "raw";
        }

        @Override
        public void writeMembers(JsonGenerator g) throws IOException {
            g.writeStringField("driver", "raw");
            Args.str(g, "node-name", nodeName);
            file.write(g, "file");
            Args.bool(g, "read-only", readOnly);
        }
    }

    /**
     * The {@code qcow2} format driver.
     *
     * @param nodeName the node name
     * @param file the protocol node below
     * @param backing the backing node; null: from the image header; use {@link #noBacking} for none
     * @param noBacking write {@code "backing": null} (no backing file, e.g. for an overlay attached later)
     * @param readOnly read-only, or null
     */
    record Qcow2(String nodeName, Ref file, Ref backing, boolean noBacking, Boolean readOnly)
            implements BlockdevOptions {
        /** Requires a file. */
        public Qcow2 {
            Objects.requireNonNull(file, "file");
        }

        /** A qcow2 node with the backing file from its header. */
        public Qcow2(String nodeName, Ref file) {
            this(nodeName, file, null, false, null);
        }

        @Override
        public String driver() {
            return "qcow2";
        }

        @Override
        public void writeMembers(JsonGenerator g) throws IOException {
            g.writeStringField("driver", "qcow2");
            Args.str(g, "node-name", nodeName);
            file.write(g, "file");
            if (backing != null) {
                backing.write(g, "backing");
            } else if (noBacking) {
                g.writeNullField("backing");
            }
            Args.bool(g, "read-only", readOnly);
        }
    }

    /**
     * The {@code nbd} protocol driver: a node reading and writing an NBD export.
     *
     * @param nodeName the node name
     * @param server where the NBD server listens
     * @param export the export name, or null for the default export
     * @param reconnectDelay seconds to keep reconnecting after a lost connection (4.2+), or null
     * @param openTimeout seconds to keep trying the first connection (7.0+), or null
     * @param readOnly read-only, or null
     */
    record Nbd(String nodeName, SocketAddress server, String export, Long reconnectDelay, Long openTimeout,
            Boolean readOnly) implements BlockdevOptions {
        /** Requires a server. */
        public Nbd {
            Objects.requireNonNull(server, "server");
        }

        /** An NBD node with QEMU's defaults. */
        public Nbd(String nodeName, SocketAddress server, String export) {
            this(nodeName, server, export, null, null, null);
        }

        @Override
        public String driver() {
            return "nbd";
        }

        @Override
        public void writeMembers(JsonGenerator g) throws IOException {
            g.writeStringField("driver", "nbd");
            Args.str(g, "node-name", nodeName);
            g.writeFieldName("server");
            server.writeFlat(g);
            Args.str(g, "export", export);
            Args.num(g, "reconnect-delay", reconnectDelay);
            Args.num(g, "open-timeout", openTimeout);
            Args.bool(g, "read-only", readOnly);
        }
    }

    /**
     * Any other driver, as raw members.
     *
     * @param driver the driver name
     * @param nodeName the node name
     * @param members the driver's other members
     */
    record Generic(String driver, String nodeName, JsonObject members) implements BlockdevOptions {
        /** Requires a driver. */
        public Generic {
            Objects.requireNonNull(driver, "driver");
            members = members == null ? JsonObject.EMPTY : members;
        }

        @Override
        public void writeMembers(JsonGenerator g) throws IOException {
            g.writeStringField("driver", driver);
            Args.str(g, "node-name", nodeName);
            Args.extra(g, members);
        }
    }
}
