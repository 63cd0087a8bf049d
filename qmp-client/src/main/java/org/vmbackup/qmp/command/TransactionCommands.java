package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.List;
import org.vmbackup.qmp.QmpCommand;

/**
 * {@code transaction}: several actions applied atomically (each action's prepare step drains its node, so
 * all of them see one point in time).
 */
public final class TransactionCommands {
    private TransactionCommands() {
    }

    /**
     * A command usable as a transaction action: {@code {"type": name, "data": arguments}}. Implemented by
     * {@link BlockCommands.BlockdevBackup} and the {@link DirtyBitmapCommands} records.
     */
    public interface Action extends QmpCommand<Void> {
    }

    /** {@code completion-mode}. */
    public enum CompletionMode {
        /** Each job completes on its own (QEMU's default). */
        INDIVIDUAL("individual"),
        /** All jobs succeed or all fail; in 7.2 only backup actions accept it. */
        GROUPED("grouped");

        private final String wire;

        CompletionMode(String wire) {
            this.wire = wire;
        }

        /** The wire name. */
        public String wireName() {
            return wire;
        }
    }

    /**
     * {@code transaction}.
     *
     * @param actions the actions, applied in order
     * @param completionMode or null for QEMU's default ({@code individual})
     */
    public record Transaction(List<Action> actions, CompletionMode completionMode) implements VoidCommand {
        /** Copies the actions; at least one. */
        public Transaction {
            actions = List.copyOf(actions);
            if (actions.isEmpty()) {
                throw new IllegalArgumentException("a transaction needs at least one action");
            }
        }

        /** A transaction with QEMU's default completion mode. */
        public Transaction(List<Action> actions) {
            this(actions, null);
        }

        @Override
        public String name() {
            return "transaction";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeArrayFieldStart("actions");
            for (Action a : actions) {
                g.writeStartObject();
                g.writeStringField("type", a.name());
                g.writeObjectFieldStart("data");
                a.writeArguments(g);
                g.writeEndObject();
                g.writeEndObject();
            }
            g.writeEndArray();
            if (completionMode != null) {
                g.writeObjectFieldStart("properties");
                g.writeStringField("completion-mode", completionMode.wireName());
                g.writeEndObject();
            }
        }
    }
}
