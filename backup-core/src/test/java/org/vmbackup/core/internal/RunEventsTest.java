package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpEvent;
import org.vmbackup.qmp.QmpJobStatus;

class RunEventsTest {
    private static final Instant T0 = Instant.parse("2026-12-07T03:00:00Z");

    @Test
    void thePauseIsFromTheFirstStopToTheResumeAfterIt() {
        RunEvents e = new RunEvents();
        e.offer(new QmpEvent.Resume(T0.minusSeconds(5), JsonObject.EMPTY)); // before our stop: not the pause's end
        e.pump(Duration.ZERO);
        assertThat(e.resumeSeen()).isTrue();
        assertThat(e.resumedAfterStop()).isFalse();
        assertThat(e.pause()).isEqualTo(Duration.ZERO);
        e.offer(new QmpEvent.Stop(T0, JsonObject.EMPTY));
        e.offer(new QmpEvent.Stop(T0.plusMillis(50), JsonObject.EMPTY));
        e.offer(new QmpEvent.Resume(T0.plusMillis(120), JsonObject.EMPTY));
        e.offer(new QmpEvent.Resume(T0.plusMillis(900), JsonObject.EMPTY));
        e.offer(new QmpEvent.JobStatusChange(T0, "j0", QmpJobStatus.RUNNING, JsonObject.EMPTY));
        e.offer(new QmpEvent.JobStatusChange(T0, "j0", QmpJobStatus.CONCLUDED, JsonObject.EMPTY));
        e.offer(new QmpEvent.Migration(T0, "active", JsonObject.EMPTY));
        e.pump(Duration.ZERO);
        assertThat(e.pause()).isEqualTo(Duration.ofMillis(120));
        assertThat(e.jobStatus("j0")).isEqualTo(QmpJobStatus.CONCLUDED);
        assertThat(e.jobStatus("j1")).isNull();
        assertThat(e.migrationStatus()).isEqualTo("active");
    }

    @Test
    void awaitIsBoundedAndStopsWhenTheRunAborts() {
        RunEvents e = new RunEvents();
        long t0 = System.nanoTime();
        assertThat(e.await(() -> false, Duration.ofMillis(200), () -> { })).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofMillis(190), Duration.ofSeconds(5));
        assertThatThrownBy(() -> e.await(() -> false, Duration.ofSeconds(60), () -> {
            throw new BackupException("backup cancelled");
        })).hasMessage("backup cancelled");
        e.offer(new QmpEvent.Resume(T0, JsonObject.EMPTY));
        assertThat(e.await(e::resumeSeen, Duration.ofSeconds(5), () -> { })).isTrue();
    }
}
