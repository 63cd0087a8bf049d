package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class VmDescriptionTest {
    @Test
    void describesQemuMachineMemoryAndDisksAsJson() {
        VmDescription d = new VmDescription("7.2.0", "Debian 1:7.2+dfsg-7", "pc-i440fx-7.2", 1L << 30, true,
                List.of(new VmDescription.Disk("drive-hd0", "hd0", "#block158", "/machine/peripheral-anon/device[0]",
                        4194304, "raw", "/tmp/d \"0\".raw")));
        String json = d.toJson();
        assertThat(json).contains("\"version\": \"7.2.0\"").contains("\"machine\": \"pc-i440fx-7.2\"")
                .contains("\"memory\": 1073741824").contains("\"node\": \"#block158\"")
                .contains("\"size\": 4194304").contains("\"file\": \"/tmp/d \\\"0\\\".raw\"")
                .contains("\"vmstate\": true");
        ConfigBlob blob = d.toConfigBlob();
        assertThat(blob.name()).isEqualTo("vm.json");
        assertThat(new String(blob.content(), StandardCharsets.UTF_8)).isEqualTo(json);
    }
}
