package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.vmbackup.qmp.ItSupport.await;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.QmpRequirement;
import org.vmbackup.testkit.QemuProcess;

/** The schema check against the real QEMU (7.2 and 10.0 in CI) with the backup/restore vocabulary. */
class QmpSchemaIT {
    /** Every command the typed command records send. */
    static final List<String> COMMANDS = List.of("query-version", "query-status", "query-block",
            "query-named-block-nodes", "query-jobs", "query-block-jobs", "query-migrate",
            "query-migrate-capabilities", "query-memory-size-summary", "blockdev-add", "blockdev-del",
            "blockdev-backup", "blockdev-mirror", "block-stream", "block-job-set-speed", "transaction",
            "job-cancel", "job-dismiss", "job-finalize", "job-complete", "stop", "cont", "migrate",
            "migrate-incoming", "migrate_cancel", "migrate-set-capabilities", "migrate-set-parameters", "getfd",
            "closefd", "add-fd", "remove-fd", "query-fdsets", "nbd-server-start", "nbd-server-stop",
            "block-export-add", "block-export-del", "block-dirty-bitmap-add", "block-dirty-bitmap-remove",
            "block-dirty-bitmap-clear", "block-dirty-bitmap-enable", "block-dirty-bitmap-disable",
            "block-dirty-bitmap-merge", "pmemsave", "human-monitor-command", "quit", "query-qmp-schema");

    static List<QmpRequirement> vocabulary() {
        List<QmpRequirement> r = new ArrayList<>();
        COMMANDS.forEach(c -> r.add(QmpRequirement.command(c)));
        for (String e : List.of("STOP", "RESUME", "SHUTDOWN", "MIGRATION", "MIGRATION_PASS", "JOB_STATUS_CHANGE",
                "BLOCK_JOB_COMPLETED", "BLOCK_JOB_ERROR", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_PENDING",
                "BLOCK_JOB_READY", "DEVICE_DELETED")) {
            r.add(QmpRequirement.event(e));
        }
        for (String a : List.of("job-id", "device", "target", "sync", "speed", "bitmap", "bitmap-mode",
                "auto-finalize", "auto-dismiss", "filter-node-name", "on-target-error")) {
            r.add(QmpRequirement.argument("blockdev-backup", a));
        }
        r.add(QmpRequirement.enumValue("blockdev-backup", "sync", "full"));
        r.add(QmpRequirement.enumValue("blockdev-backup", "sync", "bitmap"));
        r.add(QmpRequirement.enumValue("blockdev-backup", "bitmap-mode", "on-success"));
        r.add(QmpRequirement.argument("transaction", "properties.completion-mode"));
        r.add(QmpRequirement.enumValue("transaction", "properties.completion-mode", "grouped"));
        r.add(QmpRequirement.enumValue("transaction", "actions.type", "blockdev-backup"));
        r.add(QmpRequirement.enumValue("transaction", "actions.type", "block-dirty-bitmap-merge"));
        r.add(QmpRequirement.blockdevDriver("nbd"));
        r.add(QmpRequirement.blockdevDriver("qcow2"));
        r.add(QmpRequirement.blockdevDriver("copy-before-write"));
        r.add(QmpRequirement.variantArgument("blockdev-add", "nbd", "reconnect-delay"));
        r.add(QmpRequirement.variantArgument("blockdev-add", "nbd", "open-timeout"));
        r.add(QmpRequirement.variantArgument("blockdev-add", "file", "filename"));
        r.add(QmpRequirement.argument("block-dirty-bitmap-add", "persistent"));
        r.add(QmpRequirement.argument("block-dirty-bitmap-merge", "bitmaps"));
        r.add(QmpRequirement.argument("nbd-server-start", "max-connections"));
        r.add(QmpRequirement.variantArgument("block-export-add", "nbd", "bitmaps"));
        r.add(QmpRequirement.migrationCapability("background-snapshot"));
        r.add(QmpRequirement.migrationCapability("events"));
        r.add(QmpRequirement.migrationParameter("max-bandwidth"));
        r.add(QmpRequirement.migrationParameter("downtime-limit"));
        r.add(QmpRequirement.argument("add-fd", "fdset-id"));
        r.add(QmpRequirement.argument("query-named-block-nodes", "flat"));
        return r;
    }

    @Test
    void backupVocabularyExistsAndMissingNamesAreReported() throws Exception {
        try (QemuProcess vm = QemuProcess.system().start();
                QmpClient qmp = await(QmpClient.connect(vm.qmpSocket()))) {
            QmpSchema schema = await(qmp.schema());
            assertThat(qmp.schema()).isSameAs(qmp.schema());
            assertThat(schema.size()).isGreaterThan(1000);
            assertThat(schema.check(vocabulary())).isEmpty();

            String v = qmp.greeting().version().toString();
            List<String> missing = schema.check(QmpRequirement.command("blockdev-backupx"),
                    QmpRequirement.migrationCapability("background-snapshotx"),
                    QmpRequirement.argument("blockdev-backup", "no-such-arg"),
                    QmpRequirement.enumValue("blockdev-backup", "sync", "sideways"),
                    QmpRequirement.variantArgument("blockdev-add", "nbd", "filename"),
                    QmpRequirement.event("NO_SUCH_EVENT"),
                    QmpRequirement.command("migrate-set-capabilities"));
            assertThat(missing).containsExactly(
                    "QEMU " + v + " has no command blockdev-backupx",
                    "QEMU " + v + " has no migration capability background-snapshotx",
                    "QEMU " + v + " has no argument no-such-arg of command blockdev-backup",
                    "QEMU " + v + " has no value sideways for argument sync of command blockdev-backup",
                    "QEMU " + v + " has no argument filename of command blockdev-add nbd",
                    "QEMU " + v + " has no event NO_SUCH_EVENT");
            // migrate's channels argument (file: migration) arrived in 8.2: on 7.2 it is missing, by name.
            if (qmp.greeting().version().atLeast(8, 2)) {
                assertThat(schema.check(QmpRequirement.argument("migrate", "channels"))).isEmpty();
            } else {
                assertThat(schema.check(QmpRequirement.argument("migrate", "channels")))
                        .containsExactly("QEMU " + v + " has no argument channels of command migrate");
            }
            assertThatThrownBy(() -> schema.require(QmpRequirement.command("drive-backup"),
                    QmpRequirement.command("x-no-such-command")))
                    .isInstanceOf(QmpException.class)
                    .hasMessage("QEMU " + v + " has no command x-no-such-command");
        }
    }

    @Test
    void storageDaemonHasTheBlockVocabularyButNoMigration() throws Exception {
        try (QemuProcess sd = QemuProcess.storageDaemon().start();
                QmpClient qmp = await(QmpClient.connect(sd.qmpSocket()))) {
            QmpSchema schema = await(qmp.schema());
            assertThat(schema.check(QmpRequirement.command("blockdev-backup"), QmpRequirement.command("transaction"),
                    QmpRequirement.command("block-export-add"), QmpRequirement.command("nbd-server-start"),
                    QmpRequirement.blockdevDriver("nbd"))).isEmpty();
            assertThat(schema.check(QmpRequirement.command("migrate")))
                    .containsExactly("QEMU " + qmp.greeting().version() + " has no command migrate");
        }
    }
}
