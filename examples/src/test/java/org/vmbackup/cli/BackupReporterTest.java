package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.BackupPhase;
import org.vmbackup.core.BackupProgress;
import org.vmbackup.core.BackupResult;
import org.vmbackup.core.DiskProgress;
import org.vmbackup.core.DiskResult;
import org.vmbackup.core.FsFreeze;
import org.vmbackup.core.FsFreezeResult;

class BackupReporterTest {
    private static BackupProgress p(BackupPhase phase, long done, boolean fin) {
        return new BackupProgress(phase, List.of(new DiskProgress("drive-a", done, 1000, 0, 100,
                fin ? Optional.of(Duration.ZERO) : Optional.of(Duration.ofSeconds(3)), fin)), 0, false, Duration.ZERO);
    }

    @Test
    void printsPhasesABarEveryTenPercentAndTheSummary() {
        StringWriter s = new StringWriter();
        BackupReporter r = new BackupReporter(new PrintWriter(s), true);
        r.onProgress(p(BackupPhase.PREPARING, 0, false));
        r.onProgress(p(BackupPhase.CRITICAL_SECTION, 0, false));
        r.onProgress(p(BackupPhase.COPYING, 0, false));
        r.onProgress(p(BackupPhase.COPYING, 50, false)); // same tenth: no line
        r.onProgress(p(BackupPhase.COPYING, 500, false));
        r.onProgress(p(BackupPhase.COPYING, 1000, true));
        r.onProgress(p(BackupPhase.FINISHING, 1000, true));
        r.summary(new BackupResult("/a.vma", Instant.EPOCH, List.of(new DiskResult("drive-a", "a", 1000, 600, 400)),
                true, 2048, Duration.ofMillis(42), Duration.ofSeconds(1)));
        assertThat(s.toString().lines().toList()).containsExactly(
                "Running migration...",
                "drive-a [....................]   0% 0 B of 1000 B, 100 B/s, ETA 3 s",
                "drive-a [##########..........]  50% 500 B of 1000 B, 100 B/s, ETA 3 s",
                "drive-a [####################] 100% 1000 B of 1000 B, 100 B/s, ETA 0 s",
                "Finished device drive-a",
                "Backup complete: /a.vma",
                "  drive-a (a): 1000 B, 600 B data, 400 B zero skipped",
                "  vmstate: 2.0 KiB",
                "  guest pause 42 ms, duration 1.0 s, 0.0 MB/s");
        assertThat(BackupReporter.size(3L << 30)).isEqualTo("3.0 GiB");
    }

    @Test
    void theSummaryGivesTheFreezeWindowBesideThePauseOrSaysItIsNotQuiesced() {
        StringWriter s = new StringWriter();
        BackupReporter r = new BackupReporter(new PrintWriter(s), true);
        r.summary(new BackupResult("/a.vma", Instant.EPOCH, List.of(), true, 0, Duration.ofMillis(42),
                Duration.ofSeconds(1), new FsFreezeResult(FsFreeze.REQUIRED, true, 1, Duration.ofMillis(180), "",
                        "")));
        assertThat(s.toString().lines().toList()).containsSubsequence(
                "  guest pause 42 ms, file systems frozen 180 ms, duration 1.0 s, 0.0 MB/s",
                "  application-consistent: 1 file system(s) frozen by the guest agent");
        s.getBuffer().setLength(0);
        r.summary(new BackupResult("/a.vma", Instant.EPOCH, List.of(), true, 0, Duration.ofMillis(42),
                Duration.ofSeconds(1), new FsFreezeResult(FsFreeze.TRY, false, 0, Duration.ZERO,
                        "the VM has no guest agent channel", "")));
        assertThat(s.toString()).contains("  guest pause 42 ms, duration")
                .contains("  NOT quiesced, crash-consistent: the VM has no guest agent channel")
                .doesNotContain("WARNING");
        s.getBuffer().setLength(0);
        r.summary(new BackupResult("/a.vma", Instant.EPOCH, List.of(), true, 0, Duration.ofMillis(42),
                Duration.ofSeconds(1), new FsFreezeResult(FsFreeze.REQUIRED, true, 1, Duration.ZERO, "",
                        "no reply to guest-fsfreeze-thaw within PT30S")));
        assertThat(s.toString()).contains("WARNING: the guest's file systems may still be frozen")
                .contains("no reply to guest-fsfreeze-thaw");
    }
}
