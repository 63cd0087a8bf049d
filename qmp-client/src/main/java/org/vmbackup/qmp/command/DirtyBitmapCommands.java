package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * {@code block-dirty-bitmap-*}: the bitmaps that make incremental backups. Each record is a command and a
 * {@link TransactionCommands.Action}.
 */
public final class DirtyBitmapCommands {
    private DirtyBitmapCommands() {
    }

    /**
     * {@code block-dirty-bitmap-add}.
     *
     * @param node the node
     * @param name the bitmap name
     * @param granularity bytes per bit, or null
     * @param persistent store in the qcow2 image, or null (false)
     * @param disabled create disabled (not recording), or null (false)
     */
    public record Add(String node, String name, Long granularity, Boolean persistent, Boolean disabled)
            implements VoidCommand, TransactionCommands.Action {
        /** Requires node and name. */
        public Add {
            Objects.requireNonNull(node, "node");
            Objects.requireNonNull(name, "name");
        }

        /** A recording, non-persistent bitmap with the default granularity. */
        public Add(String node, String name) {
            this(node, name, null, null, null);
        }

        @Override
        public String name() {
            return "block-dirty-bitmap-add";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("node", node);
            g.writeStringField("name", name);
            Args.num(g, "granularity", granularity);
            Args.bool(g, "persistent", persistent);
            Args.bool(g, "disabled", disabled);
        }
    }

    /**
     * {@code block-dirty-bitmap-remove}.
     *
     * @param node the node
     * @param name the bitmap
     */
    public record Remove(String node, String name) implements VoidCommand, TransactionCommands.Action {
        @Override
        public String name() {
            return "block-dirty-bitmap-remove";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            writeNodeName(g, node, name);
        }
    }

    /**
     * {@code block-dirty-bitmap-clear}.
     *
     * @param node the node
     * @param name the bitmap
     */
    public record Clear(String node, String name) implements VoidCommand, TransactionCommands.Action {
        @Override
        public String name() {
            return "block-dirty-bitmap-clear";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            writeNodeName(g, node, name);
        }
    }

    /**
     * {@code block-dirty-bitmap-enable}.
     *
     * @param node the node
     * @param name the bitmap
     */
    public record Enable(String node, String name) implements VoidCommand, TransactionCommands.Action {
        @Override
        public String name() {
            return "block-dirty-bitmap-enable";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            writeNodeName(g, node, name);
        }
    }

    /**
     * {@code block-dirty-bitmap-disable}.
     *
     * @param node the node
     * @param name the bitmap
     */
    public record Disable(String node, String name) implements VoidCommand, TransactionCommands.Action {
        @Override
        public String name() {
            return "block-dirty-bitmap-disable";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            writeNodeName(g, node, name);
        }
    }

    /**
     * A bitmap to merge: a bitmap of the target's node ({@code node == null}) or of another node.
     *
     * @param node the node, or null for the merge target's node
     * @param name the bitmap
     */
    public record BitmapRef(String node, String name) {
        /** Requires a name. */
        public BitmapRef {
            Objects.requireNonNull(name, "name");
        }

        /** A bitmap on the merge target's node. */
        public static BitmapRef named(String name) {
            return new BitmapRef(null, name);
        }
    }

    /**
     * {@code block-dirty-bitmap-merge}: ORs {@code bitmaps} into {@code target}.
     *
     * @param node the target's node
     * @param target the bitmap receiving the merge
     * @param bitmaps the sources
     */
    public record Merge(String node, String target, List<BitmapRef> bitmaps)
            implements VoidCommand, TransactionCommands.Action {
        /** Copies the sources. */
        public Merge {
            Objects.requireNonNull(node, "node");
            Objects.requireNonNull(target, "target");
            bitmaps = List.copyOf(bitmaps);
        }

        @Override
        public String name() {
            return "block-dirty-bitmap-merge";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("node", node);
            g.writeStringField("target", target);
            g.writeArrayFieldStart("bitmaps");
            for (BitmapRef b : bitmaps) {
                if (b.node() == null) {
                    g.writeString(b.name());
                } else {
                    g.writeStartObject();
                    g.writeStringField("node", b.node());
                    g.writeStringField("name", b.name());
                    g.writeEndObject();
                }
            }
            g.writeEndArray();
        }
    }

    private static void writeNodeName(JsonGenerator g, String node, String name) throws IOException {
        g.writeStringField("node", Objects.requireNonNull(node, "node"));
        g.writeStringField("name", Objects.requireNonNull(name, "name"));
    }
}
