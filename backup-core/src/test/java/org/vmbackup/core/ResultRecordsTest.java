package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ResultRecordsTest {
    @Test
    void resultSumsDisksAndComputesThroughput() {
        BackupResult r = new BackupResult("/b.vma", Instant.EPOCH,
                List.of(new DiskResult("drive-a", "a", 1000, 600, 400), new DiskResult("drive-b", "b", 3000, 100, 2900)),
                true, 1000, Duration.ofMillis(25), Duration.ofSeconds(2));
        assertThat(r.totalDiskBytes()).isEqualTo(4000);
        assertThat(r.totalDataBytes()).isEqualTo(700);
        assertThat(r.totalZeroBytes()).isEqualTo(3300);
        assertThat(r.bytesPerSecond()).isEqualTo(2500.0);
    }

    @Test
    void progressRefusesInconsistentCounters() {
        assertThatThrownBy(() -> new DiskProgress("d", 10, 100, 11, 0, Optional.empty(), false))
                .hasMessageContaining("disk d");
        DiskProgress p = new DiskProgress("d", 25, 100, 5, 1, Optional.empty(), false);
        assertThat(p.fraction()).isEqualTo(0.25);
        BackupProgress bp = new BackupProgress(BackupPhase.COPYING, List.of(p, p), 0, true, Duration.ZERO);
        assertThat(bp.doneBytes()).isEqualTo(50);
        assertThat(bp.totalBytes()).isEqualTo(200);
    }
}
