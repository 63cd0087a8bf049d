package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.List;
import java.util.Objects;
import org.vmbackup.qmp.JsonObject;

/** Migration: the RAM and device-state stream ({@code migrate} to {@code fd:NAME} for a snapshot). */
public final class MigrationCommands {
    private MigrationCommands() {
    }

    /**
     * A migration capability and its state.
     *
     * @param capability e.g. {@code "events"}, {@code "background-snapshot"}
     * @param state on or off
     */
    public record Capability(String capability, boolean state) {
        /** Requires a name. */
        public Capability {
            Objects.requireNonNull(capability, "capability");
        }
    }

    /**
     * {@code migrate}: starts an outgoing migration.
     *
     * @param uri e.g. {@code "fd:vmstate"}, {@code "unix:/path"}, {@code "exec:cat > file"} (7.2 has no file:)
     * @param detach ignored by QEMU (always detached), or null
     * @param resume resume a paused postcopy migration, or null
     */
    public record Migrate(String uri, Boolean detach, Boolean resume) implements VoidCommand {
        /** Requires a URI. */
        public Migrate {
            Objects.requireNonNull(uri, "uri");
        }

        /** A migration to {@code uri}. */
        public Migrate(String uri) {
            this(uri, null, null);
        }

        @Override
        public String name() {
            return "migrate";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("uri", uri);
            Args.bool(g, "detach", detach);
            Args.bool(g, "resume", resume);
        }
    }

    /**
     * {@code migrate-incoming}: loads a migration stream into a QEMU started with {@code -incoming defer}.
     *
     * @param uri e.g. {@code "fd:vmstate"}
     */
    public record MigrateIncoming(String uri) implements VoidCommand {
        /** Requires a URI. */
        public MigrateIncoming {
            Objects.requireNonNull(uri, "uri");
        }

        @Override
        public String name() {
            return "migrate-incoming";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("uri", uri);
        }
    }

    /** {@code migrate_cancel}: cancels the outgoing migration. */
    public record MigrateCancel() implements VoidCommand {
        @Override
        public String name() {
            return "migrate_cancel";
        }
    }

    /**
     * {@code migrate-set-capabilities}.
     *
     * @param capabilities the capabilities to set
     */
    public record MigrateSetCapabilities(List<Capability> capabilities) implements VoidCommand {
        /** Copies the list. */
        public MigrateSetCapabilities {
            capabilities = List.copyOf(capabilities);
        }

        /** Sets some capabilities. */
        public static MigrateSetCapabilities of(Capability... capabilities) {
            return new MigrateSetCapabilities(List.of(capabilities));
        }

        @Override
        public String name() {
            return "migrate-set-capabilities";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeArrayFieldStart("capabilities");
            for (Capability c : capabilities) {
                g.writeStartObject();
                g.writeStringField("capability", c.capability());
                g.writeBooleanField("state", c.state());
                g.writeEndObject();
            }
            g.writeEndArray();
        }
    }

    /**
     * {@code migrate-set-parameters}: the common parameters typed, any others in {@code extra}.
     *
     * @param maxBandwidth bytes/s for pre-copy (7.2 default 128 MiB/s), or null
     * @param downtimeLimit ms of allowed downtime, or null
     * @param extra other parameters, or null
     */
    public record MigrateSetParameters(Long maxBandwidth, Long downtimeLimit, JsonObject extra)
            implements VoidCommand {
        @Override
        public String name() {
            return "migrate-set-parameters";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            Args.num(g, "max-bandwidth", maxBandwidth);
            Args.num(g, "downtime-limit", downtimeLimit);
            Args.extra(g, extra);
        }
    }
}
