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
        Path archive = tmp.resolve("vm.vma.zst"); // compressed: the full-state path streams, no random access
        try (QemuProcess vm = src.startSource()) {
            RestoreTestVm.backup(vm, archive);
        }
        try (QemuProcess target = RestoreTestVm.startTarget(RestoreTestVm.DISK0, RestoreTestVm.DISK1)) {
            assertThat(org.vmbackup.vma.VmaCompression.detect(java.nio.ByteBuffer.wrap(Files.readAllBytes(archive))))
                    .isEqualTo(org.vmbackup.vma.VmaCompression.ZSTD);
            RestoreVmResult r = RestoreVmSession.builder().archive(Files.newInputStream(archive))
                    .qmpSocket(target.qmpSocket())
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
    void qcow2TargetDisksReceiveTheArchiveDisks() throws Exception {
        RestoreTestVm src = new RestoreTestVm(11);
        Path archive = tmp.resolve("vm.vma");
        try (QemuProcess vm = src.startSource()) {
            RestoreTestVm.backup(vm, archive);
        }
        try (QemuProcess target = RestoreTestVm.startQcow2Target()) {
            RestoreVmResult r = RestoreVmSession.builder().archive(archive).qmpSocket(target.qmpSocket()).build()
                    .start().join();
            assertThat(r.disks()).extracting(RestoredDisk::format).containsOnly(RestoreFormat.QCOW2);
            try (RawQmp qmp = RawQmp.connect(target.qmpSocket())) {
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
                assertThat(RestoreTestVm.pmemsave(qmp, target.dir())).isEqualTo(src.pattern);
                RestoreTestVm.ok(qmp.execute("{\"execute\":\"stop\"}")); // flush before comparing
            }
            for (int i = 0; i < 2; i++) {
                Path expected = tmp.resolve("expected" + i + ".raw");
                Files.write(expected, i == 0 ? src.d0 : src.d1);
                assertThat(RestoreTools.run(org.vmbackup.testkit.RequiredTool.QEMU_IMG.path().toString(), "compare",
                        "-U", "-f", "qcow2", "-F", "raw", target.dir().resolve("t" + i + ".qcow2").toString(),
                        expected.toString())).contains("Images are identical");
            }
        }
    }

    @Test
    void mismatchingQemuIsRefusedBeforeAnythingIsWritten() throws Exception {
        RestoreTestVm src = new RestoreTestVm(8);
        Path archive = tmp.resolve("vm.vma");
        try (QemuProcess vm = src.startSource()) {
            RestoreTestVm.backupWithRawQmp(vm, archive);
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
