package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.command.MigrationCommands.Capability;
import org.vmbackup.qmp.command.MigrationCommands.MigrateSetCapabilities;
import org.vmbackup.qmp.command.QueryCommands;

class MigrationCapabilitiesTest {
    private static MigrationCapabilities caps(String json) {
        return MigrationCapabilities.current(new QueryCommands.QueryMigrateCapabilities().decode(Json.parse(json)));
    }

    private static List<Capability> list(java.util.Optional<MigrateSetCapabilities> c) {
        return c.orElseThrow().capabilities();
    }

    @Test
    void turnsOnWhatTheSnapshotNeedsAndRestoresExactlyThat() {
        MigrationCapabilities c = caps("[{\"capability\":\"xbzrle\",\"state\":false},{\"capability\":\"events\","
                + "\"state\":false},{\"capability\":\"background-snapshot\",\"state\":false}]");
        assertThat(list(c.forSnapshot())).containsExactly(new Capability("events", true),
                new Capability("background-snapshot", true));
        assertThat(list(c.restore())).containsExactly(new Capability("background-snapshot", false),
                new Capability("events", false));
        assertThat(c.has("xbzrle")).isTrue();
        assertThat(c.has("nope")).isFalse();
    }

    @Test
    void switchesConflictingCapabilitiesOffAndBackOn() {
        MigrationCapabilities c = caps("[{\"capability\":\"xbzrle\",\"state\":true},{\"capability\":\"events\","
                + "\"state\":true},{\"capability\":\"background-snapshot\",\"state\":false}]");
        assertThat(list(c.forSnapshot())).containsExactly(new Capability("xbzrle", false),
                new Capability("background-snapshot", true));
        assertThat(list(c.restore())).containsExactly(new Capability("background-snapshot", false),
                new Capability("xbzrle", true));
    }

    @Test
    void nothingToChangeMeansNoCommand() {
        MigrationCapabilities c = caps("[{\"capability\":\"events\",\"state\":true},"
                + "{\"capability\":\"background-snapshot\",\"state\":true}]");
        assertThat(c.forSnapshot()).isEmpty();
        assertThat(c.restore()).isEmpty();
    }
}
