package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.command.BlockCommands.BlockdevBackup;
import org.vmbackup.qmp.command.BlockCommands.SyncMode;
import org.vmbackup.qmp.command.TransactionCommands.CompletionMode;
import org.vmbackup.qmp.command.TransactionCommands.Transaction;

class BackupJobsTest {
    private static List<BlockdevBackup> backups(Transaction t) {
        return t.actions().stream().map(BlockdevBackup.class::cast).toList();
    }

    @Test
    void oneGroupedTransactionStartsAJobPerDiskIntoItsTarget() {
        BackupJobs jobs = new BackupJobs("ab12cd34", List.of("#block158", "disk1"), List.of("t0", "t1"));
        assertThat(jobs.ids()).containsExactly("vmbk-ab12cd34-j0", "vmbk-ab12cd34-j1");
        Transaction throttled = jobs.transaction(1L);
        assertThat(throttled.completionMode()).isEqualTo(CompletionMode.GROUPED);
        assertThat(backups(throttled)).extracting(BlockdevBackup::jobId, BlockdevBackup::device,
                BlockdevBackup::target).containsExactly(org.assertj.core.groups.Tuple.tuple("vmbk-ab12cd34-j0",
                "#block158", "t0"), org.assertj.core.groups.Tuple.tuple("vmbk-ab12cd34-j1", "disk1", "t1"));
        assertThat(backups(throttled)).allSatisfy(b -> {
            assertThat(b.sync()).isEqualTo(SyncMode.FULL);
            assertThat(b.speed()).isEqualTo(1L);
            // concluded jobs stay until the run has read their result (and the undo dismisses them)
            assertThat(b.autoDismiss()).isFalse();
            assertThat(b.autoFinalize()).isTrue();
        });
        assertThat(backups(jobs.transaction(null))).allSatisfy(b -> assertThat(b.speed()).isNull());
    }

    @Test
    void refusesDisksWithoutTargets() {
        assertThatThrownBy(() -> new BackupJobs("t", List.of("a", "b"), List.of("t0")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BackupJobs("t", List.of(), List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
