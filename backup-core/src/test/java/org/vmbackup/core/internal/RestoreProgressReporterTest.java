package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.DiskProgress;
import org.vmbackup.core.RestoreProgress;

@Timeout(10)
class RestoreProgressReporterTest {
    private static final long MIB = 1 << 20;
    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private final List<RestoreProgress> seen = new ArrayList<>();

    private RestoreProgressReporter reporter(boolean vmstate) {
        return new RestoreProgressReporter(List.of(new ArchiveDisk("drive-a", 100 * MIB),
                new ArchiveDisk("drive-b", 10 * MIB)), vmstate, seen::add, clock::get, clock.get());
    }

    @Test
    void disksCarryRateEtaAndZeroRunsLikeABackup() {
        RestoreProgressReporter r = reporter(false);
        r.disk("drive-a", 10 * MIB, 2 * MIB);
        clock.addAndGet(1_000_000_000L);
        r.disk("drive-a", 30 * MIB, 2 * MIB);
        RestoreProgress p = seen.get(seen.size() - 1);
        DiskProgress a = p.disk("drive-a");
        assertThat(a.doneBytes()).isEqualTo(30 * MIB);
        assertThat(a.zeroBytes()).isEqualTo(2 * MIB);
        assertThat(a.bytesPerSecond()).isCloseTo(20.0 * MIB, org.assertj.core.data.Offset.offset(1.0));
        assertThat(a.eta()).contains(Duration.ofMillis(3500));
        assertThat(p.disk("drive-b").doneBytes()).isZero();
        assertThat(p.elapsed()).isEqualTo(Duration.ofSeconds(1));
        assertThat(p.doneBytes()).isEqualTo(30 * MIB);
        assertThat(p.totalBytes()).isEqualTo(110 * MIB);
        assertThat(p.finished()).isFalse();
    }

    @Test
    void finishedOnlyWhenEveryDiskAndTheVmstateAre() {
        RestoreProgressReporter r = reporter(true);
        r.diskFinished("drive-a");
        r.diskFinished("drive-b");
        assertThat(seen.get(seen.size() - 1).finished()).isFalse();
        assertThat(seen.get(seen.size() - 1).disk("drive-a").eta()).contains(Duration.ZERO);
        r.vmstate(5 * MIB, false);
        assertThat(seen.get(seen.size() - 1).vmstateBytes()).isEqualTo(5 * MIB);
        r.vmstate(7 * MIB, true);
        RestoreProgress last = seen.get(seen.size() - 1);
        assertThat(last.finished()).isTrue();
        assertThat(last.vmstateBytes()).isEqualTo(7 * MIB);
        assertThat(last.doneBytes()).isEqualTo(last.totalBytes());
    }

    @Test
    void countsNeverGoBackAndAFinishedDiskStaysComplete() {
        RestoreProgressReporter r = reporter(false);
        r.disk("drive-b", 8 * MIB, 0);
        r.disk("drive-b", 4 * MIB, 0); // a late, older sample from another thread
        assertThat(seen.get(seen.size() - 1).disk("drive-b").doneBytes()).isEqualTo(8 * MIB);
        r.diskFinished("drive-b");
        int n = seen.size();
        r.disk("drive-b", 9 * MIB, 0);
        r.disk("unknown", 1, 0);
        assertThat(seen).hasSize(n);
        assertThat(seen.get(n - 1).disk("drive-b").doneBytes()).isEqualTo(10 * MIB);
    }

    @Test
    void aThrowingListenerDoesNotFailTheRestore() {
        RestoreProgressReporter r = new RestoreProgressReporter(List.of(new ArchiveDisk("drive-a", MIB)), false,
                p -> {
                    throw new IllegalStateException("listener bug");
                }, clock::get, clock.get());
        r.disk("drive-a", 1, 0);
        r.diskFinished("drive-a");
        assertThat(r.snapshot().finished()).isTrue();
    }
}
