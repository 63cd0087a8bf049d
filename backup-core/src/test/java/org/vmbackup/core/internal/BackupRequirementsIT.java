package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.QmpSchema;
import org.vmbackup.qmp.QmpVersion;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/** The requirements hold on the real QEMU schema, and a QEMU lacking one is refused by its name. */
class BackupRequirementsIT {
    @Test
    void qemu72HasEverythingAndAMissingCapabilityIsNamed() throws Exception {
        String schema;
        try (QemuProcess vm = QemuProcess.system().memoryMiB(64).start(); RawQmp qmp = RawQmp.connect(vm.qmpSocket())) {
            schema = qmp.execute("{\"execute\":\"query-qmp-schema\"}");
        }
        QmpVersion v = new QmpVersion(7, 2, 0, "");
        QmpSchema real = new QmpSchema(v, Json.parse(schema).require("return"));
        assertThat(real.check(BackupRequirements.of(true))).isEmpty();
        // a QEMU without background snapshots (< 6.0) can still back up disks, but not the VM state
        QmpSchema old = new QmpSchema(v, Json.parse(schema.replace("\"background-snapshot\"", "\"other-capability\""))
                .require("return"));
        assertThat(old.check(BackupRequirements.of(false))).isEmpty();
        assertThat(old.check(BackupRequirements.of(true))).containsExactly(
                "QEMU 7.2.0 has no migration capability background-snapshot");
    }
}
