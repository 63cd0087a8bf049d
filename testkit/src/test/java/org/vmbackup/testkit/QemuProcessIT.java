package org.vmbackup.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class QemuProcessIT {

    @Test
    void systemEmulatorGreetsOverQmpAndLeavesNothingBehind() throws Exception {
        Path dir;
        long pid;
        try (QemuProcess vm = QemuProcess.system().memoryMiB(64).start()) {
            dir = vm.dir();
            pid = vm.pid();
            try (RawQmp qmp = RawQmp.connect(vm.qmpSocket())) {
                assertThat(qmp.greeting()).contains("\"qemu\"").contains("\"major\"");
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"status\"");
            }
            assertThat(vm.isAlive()).isTrue();
        }
        assertGone(pid, dir);
    }

    @Test
    void storageDaemonGreetsOverQmpAndLeavesNothingBehind() throws Exception {
        Path dir;
        long pid;
        try (QemuProcess qsd = QemuProcess.storageDaemon().start()) {
            dir = qsd.dir();
            pid = qsd.pid();
            try (RawQmp qmp = RawQmp.connect(qsd.qmpSocket())) {
                assertThat(qmp.greeting()).contains("\"QMP\"");
                assertThat(qmp.execute("{\"execute\":\"query-named-block-nodes\"}")).contains("\"return\"");
            }
        }
        assertGone(pid, dir);
    }

    @Test
    void processIsKilledAndDirDeletedWhenTheTestBodyThrows() throws Exception {
        Path[] dir = new Path[1];
        long[] pid = new long[1];
        assertThatThrownBy(() -> {
            try (QemuProcess vm = QemuProcess.system().memoryMiB(64).start()) {
                dir[0] = vm.dir();
                pid[0] = vm.pid();
                Files.writeString(vm.dir().resolve("scratch"), "x");
                throw new IllegalStateException("test failure");
            }
        }).hasMessage("test failure");
        assertGone(pid[0], dir[0]);
    }

    @Test
    void badArgumentsFailWithQemusOwnMessage() {
        assertThatThrownBy(() -> QemuProcess.system().args("-no-such-option").startTimeout(Duration.ofSeconds(10))
                .start())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no-such-option");
    }

    private static void assertGone(long pid, Path dir) {
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                .as("QEMU pid %d still alive", pid).isFalse();
        assertThat(dir).doesNotExist();
    }
}
