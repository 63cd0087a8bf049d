package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/** Full VM-state restore: a backed-up VM resumes in a new QEMU at the instant of the backup. */
class RestoreVmSessionIT {
    @TempDir
    Path tmp;

    @Test
    void restoredVmRunsWithTheBackedUpRamAndDisks() throws Exception {
        RestoreTestVm src = new RestoreTestVm(7);
        Path archive = tmp.resolve("vm.vma");
        try (QemuProcess vm = src.startSource()) {
            RestoreTestVm.backup(vm, archive);
        }
        try (QemuProcess target = RestoreTestVm.startTarget(RestoreTestVm.DISK0, RestoreTestVm.DISK1)) {
            RestoreVmResult r = RestoreVmSession.builder().archive(archive).qmpSocket(target.qmpSocket())
                    .workDirectory(tmp.resolve("work")).build().start().join();
            assertThat(r.running()).isTrue();
            assertThat(r.vmstateBytes()).isPositive();
            try (RawQmp qmp = RawQmp.connect(target.qmpSocket())) {
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
                assertThat(RestoreTestVm.pmemsave(qmp, target.dir())).isEqualTo(src.pattern);
            }
            assertThat(Files.readAllBytes(target.dir().resolve("t0.raw"))).isEqualTo(src.d0);
            assertThat(Files.readAllBytes(target.dir().resolve("t1.raw"))).isEqualTo(src.d1);
        }
    }

    @Test
    void mismatchingQemuIsRefusedBeforeAnythingIsWritten() throws Exception {
        RestoreTestVm src = new RestoreTestVm(8);
        Path archive = tmp.resolve("vm.vma");
        try (QemuProcess vm = src.startSource()) {
            RestoreTestVm.backup(vm, archive);
        }
        try (QemuProcess target = RestoreTestVm.startTarget(RestoreTestVm.DISK0, 2 << 20)) {
            byte[] marker = new byte[RestoreTestVm.DISK0];
            marker[0] = 0x42;
            Files.write(target.dir().resolve("t0.raw"), marker);
            assertThatThrownBy(() -> RestoreVmSession.builder().archive(archive).qmpSocket(target.qmpSocket())
                    .build().start().join())
                    .cause().isInstanceOf(BackupException.class)
                    .hasMessageContaining("drive-hd1 is 6291456 bytes but QEMU disk hd1 is 2097152 bytes");
            assertThat(Files.readAllBytes(target.dir().resolve("t0.raw"))).isEqualTo(marker);
            try (RawQmp qmp = RawQmp.connect(target.qmpSocket())) {
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"inmigrate\"");
            }
        }
    }
}
