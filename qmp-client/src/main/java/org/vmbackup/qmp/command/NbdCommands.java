package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/** QEMU's built-in NBD server: {@code nbd-server-start/-stop} and {@code block-export-add/-del}. */
public final class NbdCommands {
    private NbdCommands() {
    }

    /**
     * {@code nbd-server-start}.
     *
     * @param addr where to listen
     * @param tlsCreds a TLS credentials object id, or null
     * @param maxConnections 0 = unlimited, or null
     */
    public record NbdServerStart(SocketAddress addr, String tlsCreds, Long maxConnections) implements VoidCommand {
        /** Requires an address. */
        public NbdServerStart {
            Objects.requireNonNull(addr, "addr");
        }

        /** A plain server. */
        public NbdServerStart(SocketAddress addr) {
            this(addr, null, null);
        }

        @Override
        public String name() {
            return "nbd-server-start";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeFieldName("addr");
            addr.writeLegacy(g);
            Args.str(g, "tls-creds", tlsCreds);
            Args.num(g, "max-connections", maxConnections);
        }
    }

    /** {@code nbd-server-stop}. */
    public record NbdServerStop() implements VoidCommand {
        @Override
        public String name() {
            return "nbd-server-stop";
        }
    }

    /**
     * {@code block-export-add} of type {@code nbd}.
     *
     * @param id the export id
     * @param nodeName the node to export
     * @param exportName the NBD export name, or null (the node name)
     * @param writable whether clients may write, or null (false)
     * @param bitmaps dirty bitmaps to expose as {@code qemu:dirty-bitmap:NAME}, or null
     * @param allocationDepth expose {@code qemu:allocation-depth}, or null
     */
    public record BlockExportAdd(String id, String nodeName, String exportName, Boolean writable,
            List<String> bitmaps, Boolean allocationDepth) implements VoidCommand {
        /** Requires id and node. */
        public BlockExportAdd {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(nodeName, "nodeName");
            bitmaps = bitmaps == null ? null : List.copyOf(bitmaps);
        }

        /** A read-only export. */
        public BlockExportAdd(String id, String nodeName, String exportName) {
            this(id, nodeName, exportName, null, null, null);
        }

        @Override
        public String name() {
            return "block-export-add";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("type", "nbd");
            g.writeStringField("id", id);
            g.writeStringField("node-name", nodeName);
            Args.str(g, "name", exportName);
            Args.bool(g, "writable", writable);
            Args.strings(g, "bitmaps", bitmaps);
            Args.bool(g, "allocation-depth", allocationDepth);
        }
    }

    /**
     * {@code block-export-del}.
     *
     * @param id the export id
     * @param mode {@code "safe"} (fail if in use) or {@code "hard"}, or null
     */
    public record BlockExportDel(String id, String mode) implements VoidCommand {
        /** Requires an id. */
        public BlockExportDel {
            Objects.requireNonNull(id, "id");
        }

        @Override
        public String name() {
            return "block-export-del";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("id", id);
            Args.str(g, "mode", mode);
        }
    }
}
