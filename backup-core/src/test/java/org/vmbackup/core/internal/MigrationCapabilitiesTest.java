package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.Json;

class MigrationCapabilitiesTest {
    private static MigrationCapabilities caps(String json) {
        return MigrationCapabilities.current(Json.parse(json));
    }

    @Test
    void turnsOnWhatTheSnapshotNeedsAndRestoresExactlyThat() {
        MigrationCapabilities c = caps("[{\"capability\":\"xbzrle\",\"state\":false},{\"capability\":\"events\","
                + "\"state\":false},{\"capability\":\"background-snapshot\",\"state\":false}]");
        assertThat(c.forSnapshot().toJson()).isEqualTo("{\"capabilities\":[{\"capability\":\"events\",\"state\":true},"
                + "{\"capability\":\"background-snapshot\",\"state\":true}]}");
        assertThat(c.restore().toJson()).isEqualTo("{\"capabilities\":[{\"capability\":\"background-snapshot\","
                + "\"state\":false},{\"capability\":\"events\",\"state\":false}]}");
        assertThat(c.has("xbzrle")).isTrue();
        assertThat(c.has("nope")).isFalse();
    }

    @Test
    void switchesConflictingCapabilitiesOffAndBackOn() {
        MigrationCapabilities c = caps("[{\"capability\":\"xbzrle\",\"state\":true},{\"capability\":\"events\","
                + "\"state\":true},{\"capability\":\"background-snapshot\",\"state\":false}]");
        assertThat(c.forSnapshot().toJson()).isEqualTo("{\"capabilities\":[{\"capability\":\"xbzrle\",\"state\":false},"
                + "{\"capability\":\"background-snapshot\",\"state\":true}]}");
        assertThat(c.restore().toJson()).isEqualTo("{\"capabilities\":[{\"capability\":\"background-snapshot\","
                + "\"state\":false},{\"capability\":\"xbzrle\",\"state\":true}]}");
    }

    @Test
    void nothingToChangeMeansNoCommand() {
        MigrationCapabilities c = caps("[{\"capability\":\"events\",\"state\":true},"
                + "{\"capability\":\"background-snapshot\",\"state\":true}]");
        assertThat(c.forSnapshot()).isNull();
        assertThat(c.restore()).isNull();
    }
}
