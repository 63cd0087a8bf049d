package org.vmbackup.qmp.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.Json;

class GuestAgentSocketTest {
    private static final Json CHARDEVS = Json.parse("[{\"frontend-open\":false,\"filename\":"
            + "\"disconnected:unix:/run/vm/qga.sock,server=on\",\"label\":\"qga0\"},"
            + "{\"frontend-open\":true,\"filename\":\"unix:/run/vm/qmp.sock,server=on\",\"label\":\"compat_monitor0\"},"
            + "{\"frontend-open\":true,\"filename\":\"unix:/run/other.sock\",\"label\":\"client0\"},"
            + "{\"frontend-open\":true,\"filename\":\"pty:/dev/pts/3\",\"label\":\"pty0\"}]");

    @Test
    void aListeningUnixSocketIsFoundConnectedOrNot() {
        assertThat(GuestAgentSocket.socketOf(CHARDEVS, "qga0")).hasValue(Path.of("/run/vm/qga.sock"));
        assertThat(GuestAgentSocket.socketOf(CHARDEVS, "compat_monitor0")).hasValue(Path.of("/run/vm/qmp.sock"));
    }

    @Test
    void clientSocketsPtysAndUnknownLabelsAreNotUsable() {
        assertThat(GuestAgentSocket.socketOf(CHARDEVS, "client0")).isEmpty();
        assertThat(GuestAgentSocket.socketOf(CHARDEVS, "pty0")).isEmpty();
        assertThat(GuestAgentSocket.socketOf(CHARDEVS, "nope")).isEmpty();
    }
}
