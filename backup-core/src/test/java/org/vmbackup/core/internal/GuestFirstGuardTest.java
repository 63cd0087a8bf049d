package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.BackupException;

class GuestFirstGuardTest {
    private final List<BackupException> reports = new CopyOnWriteArrayList<>();
    private final GuestFirstGuard guard = new GuestFirstGuard(Duration.ofMillis(200), reports::add);

    @AfterEach
    void close() {
        guard.close();
    }

    @Test
    void anAnswerInTimeIsPassedOnAndNothingIsReported() throws Exception {
        CompletableFuture<Void> stored = new CompletableFuture<>();
        CompletableFuture<Void> ack = guard.bound(stored, () -> "stalled");
        assertThat(ack).isNotDone();
        stored.complete(null);
        ack.get(1, TimeUnit.SECONDS);
        Thread.sleep(300); // past the limit: the cancelled timeout must not fire
        assertThat(reports).isEmpty();
        assertThat(guard.dropping()).isFalse();
    }

    @Test
    void aFailedCallIsAnsweredWithSuccessAndGivesTheArchiveUp() throws Exception {
        CompletableFuture<Void> stalled = new CompletableFuture<>();
        CompletableFuture<Void> other = guard.bound(stalled, () -> "other");
        CompletableFuture<Void> ack = guard.bound(CompletableFuture.failedFuture(new IOException("full")),
                () -> "x");
        ack.get(1, TimeUnit.SECONDS);
        assertThat(other).as("pending answers go out with the first failure").isCompleted();
        assertThat(guard.dropping()).isTrue();
        assertThat(reports).as("the failure itself is reported by the caller, with its disk").isEmpty();
        assertThat(guard.bound(new CompletableFuture<>(), () -> "later")).isCompleted();
    }

    @Test
    void aStalledCallIsReportedOnceWithItsReasonAndAnsweredAtTheLimit() throws Exception {
        long t0 = System.nanoTime();
        CompletableFuture<Void> ack = guard.bound(new CompletableFuture<>(), () -> "disk drive-a stalled");
        ack.get(2, TimeUnit.SECONDS);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(150L, 1500L);
        assertThat(reports).singleElement().satisfies(e -> {
            assertThat(e).hasMessage("disk drive-a stalled");
            assertThat(e.getCause()).isInstanceOf(java.io.InterruptedIOException.class);
        });
        assertThat(guard.dropping()).isTrue();
    }

    @Test
    void afterCloseNothingWaits() {
        guard.close();
        assertThat(guard.bound(new CompletableFuture<>(), () -> "x")).isCompleted();
    }
}
