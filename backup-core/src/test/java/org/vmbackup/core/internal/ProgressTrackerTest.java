package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.BackupPhase;
import org.vmbackup.core.BackupProgress;
import org.vmbackup.core.DiskProgress;

class ProgressTrackerTest {
    private final AtomicLong clock = new AtomicLong(1_000_000_000L);

    @Test
    void rateAndEtaFollowTheCountersOnTheInjectedClock() {
        ProgressTracker t = new ProgressTracker(List.of(new ArchiveDisk("a", 1000), new ArchiveDisk("b", 10)),
                true, clock::get);
        BackupProgress p0 = t.snapshot(BackupPhase.COPYING);
        assertThat(p0.disks().get(0).eta()).isEmpty();
        assertThat(p0.vmstateFinished()).isFalse();
        t.counters(0).addData(100);
        t.counters(0).addZero(100);
        clock.addAndGet(1_000_000_000L);
        DiskProgress a = t.snapshot(BackupPhase.COPYING).disks().get(0);
        assertThat(a.doneBytes()).isEqualTo(200);
        assertThat(a.zeroBytes()).isEqualTo(100);
        assertThat(a.bytesPerSecond()).isEqualTo(200.0);
        assertThat(a.eta()).contains(Duration.ofSeconds(4));
        assertThat(a.finished()).isFalse();

        assertThat(t.markFinished(1)).isTrue();
        assertThat(t.markFinished(1)).isFalse();
        t.addVmstate(77);
        t.markVmstateFinished();
        BackupProgress p = t.snapshot(BackupPhase.FINISHING);
        assertThat(p.disks().get(1).doneBytes()).isEqualTo(10);
        assertThat(p.disks().get(1).eta()).contains(Duration.ZERO);
        assertThat(p.vmstateBytes()).isEqualTo(77);
        assertThat(p.vmstateFinished()).isTrue();
        assertThat(p.elapsed()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void withoutVmstateTheStreamCountsAsFinished() {
        ProgressTracker t = new ProgressTracker(List.of(new ArchiveDisk("a", 1)), false, clock::get);
        assertThat(t.snapshot(BackupPhase.PREPARING).vmstateFinished()).isTrue();
    }

    @Test
    void rateMeterUsesTheWindowAndMergesCloseSamples() {
        RateMeter m = new RateMeter();
        assertThat(m.bytesPerSecond()).isZero();
        long t = 0;
        for (int i = 0; i <= 40; i++) {
            m.sample(t, i * 1000L);
            t += 500_000_000L;
        }
        assertThat(m.bytesPerSecond()).isEqualTo(2000.0);
        m.sample(t - 400_000_000L, 41_000 + 5000); // merged into the last slot: rate rises
        assertThat(m.bytesPerSecond()).isGreaterThan(2000.0);
    }
}
