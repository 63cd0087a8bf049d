package org.vmbackup.core.internal;

import java.util.ArrayList;
import java.util.List;
import org.vmbackup.qmp.QmpRequirement;

/** What a backup uses of QEMU, checked against its schema before anything is changed. */
public final class BackupRequirements {
    private BackupRequirements() {
    }

    /** The requirements of a backup, with or without the VM state. */
    public static List<QmpRequirement> of(boolean vmstate) {
        List<QmpRequirement> r = new ArrayList<>(List.of(
                QmpRequirement.command("query-block"),
                QmpRequirement.command("blockdev-add"),
                QmpRequirement.blockdevDriver("nbd"),
                QmpRequirement.command("blockdev-del"),
                QmpRequirement.command("transaction"),
                QmpRequirement.enumValue("transaction", "actions.type", "blockdev-backup"),
                QmpRequirement.command("blockdev-backup"),
                QmpRequirement.enumValue("blockdev-backup", "sync", "full"),
                QmpRequirement.argument("blockdev-backup", "auto-dismiss"),
                QmpRequirement.command("query-jobs"),
                QmpRequirement.command("job-dismiss"),
                QmpRequirement.command("job-cancel"),
                QmpRequirement.command("query-named-block-nodes"),
                QmpRequirement.event("JOB_STATUS_CHANGE")));
        if (vmstate) {
            r.addAll(List.of(
                    QmpRequirement.command("stop"),
                    QmpRequirement.command("cont"),
                    QmpRequirement.command("block-job-set-speed"),
                    QmpRequirement.argument("blockdev-backup", "speed"),
                    QmpRequirement.command("migrate"),
                    QmpRequirement.command("migrate_cancel"),
                    QmpRequirement.command("query-migrate"),
                    QmpRequirement.command("query-migrate-capabilities"),
                    QmpRequirement.command("migrate-set-capabilities"),
                    QmpRequirement.migrationCapability("background-snapshot"),
                    QmpRequirement.migrationCapability("events"),
                    QmpRequirement.event("MIGRATION"),
                    QmpRequirement.event("STOP"),
                    QmpRequirement.event("RESUME")));
        }
        return r;
    }
}
