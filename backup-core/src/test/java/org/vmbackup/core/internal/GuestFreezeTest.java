package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.QmpConnectionClosedException;
import org.vmbackup.qmp.QmpErrorException;

/** The freeze's guarantees against a scripted agent: every freeze ends in a thaw, or in a loud report. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class GuestFreezeTest {
    /** A scripted agent: counts the calls and answers as told. */
    static final class FakeAgent implements GuestFreeze.Agent {
        final AtomicInteger freezes = new AtomicInteger();
        final AtomicInteger thaws = new AtomicInteger();
        volatile CompletableFuture<Integer> freezeReply = CompletableFuture.completedFuture(1);
        volatile CompletableFuture<Integer> thawReply = CompletableFuture.completedFuture(1);
        volatile Duration lastTimeout;

        @Override
        public CompletableFuture<Integer> freeze(Duration timeout) {
            freezes.incrementAndGet();
            lastTimeout = timeout;
            return freezeReply;
        }

        @Override
        public CompletableFuture<Integer> thaw(Duration timeout) {
            thaws.incrementAndGet();
            return thawReply;
        }
    }

    private final FakeAgent agent = new FakeAgent();
    private volatile boolean qemuAlive = true;

    @Test
    void freezeThenThawMeasuresTheWindowAndThawsOnce() throws Exception {
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofSeconds(5), Duration.ofSeconds(5), () -> qemuAlive)) {
            assertThat(f.freeze()).isEqualTo(1);
            assertThat(agent.lastTimeout).as("the agent's own call bounded by the freeze bound")
                    .isEqualTo(Duration.ofSeconds(5));
            Thread.sleep(20);
            f.thaw();
            f.thaw(); // the cleanup stack's undo after the normal thaw
            assertThat(f.thawed()).isTrue();
            assertThat(agent.thaws).hasValue(1);
            assertThat(f.window()).isGreaterThanOrEqualTo(Duration.ofMillis(20)).isLessThan(Duration.ofSeconds(5));
            assertThat(f.watchdogFired()).isFalse();
            assertThat(f.thawFailure()).isEmpty();
        }
    }

    @Test
    void theWatchdogThawsAFreezeThatOutlivesItsBound() throws Exception {
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofMillis(200), Duration.ofMillis(200), () -> qemuAlive)) {
            f.freeze();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!f.thawed() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(f.thawed()).as("thawed by the watchdog, the session never called thaw").isTrue();
            assertThat(f.watchdogFired()).isTrue();
            assertThat(agent.thaws).hasValue(1);
            f.thaw(); // the session's late thaw: nothing more to do
            assertThat(agent.thaws).hasValue(1);
        }
    }

    /**
     * A bound shorter than the time it takes to hand the freeze to the agent client: the watchdog's thaw must
     * still be queued after the freeze (the client runs calls in order), or a late freeze leaves the guest frozen
     * (FsFreezeIT with a 1 ms bound saw it: the watchdog was armed before the freeze was queued).
     */
    @Test
    void aWatchdogThawIsNeverQueuedBeforeTheFreeze() {
        java.util.List<String> order = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        CompletableFuture<Integer> late = new CompletableFuture<>();
        GuestFreeze.Agent slowToQueue = new GuestFreeze.Agent() {
            @Override
            public CompletableFuture<Integer> freeze(Duration timeout) {
                try {
                    Thread.sleep(100); // the watchdog (1 ms) fires meanwhile if it was armed before this call
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                order.add("freeze");
                new Thread(() -> { // the agent answers once the watchdog (1 ms) has fired
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                    late.complete(1);
                }).start();
                return late;
            }

            @Override
            public CompletableFuture<Integer> thaw(Duration timeout) {
                order.add("thaw");
                return CompletableFuture.completedFuture(1);
            }
        };
        try (GuestFreeze f = new GuestFreeze(slowToQueue, Duration.ofMillis(1), Duration.ofSeconds(5),
                () -> qemuAlive)) {
            assertThatThrownBy(f::freeze).isInstanceOf(BackupException.class).hasMessageContaining("watchdog");
            f.thaw();
            assertThat(order).first().isEqualTo("freeze");
            assertThat(order).last().isEqualTo("thaw");
            assertThat(f.thawed()).isTrue();
        }
    }

    @Test
    void aFreezeReplyAfterTheBoundIsAFailureAndTheWatchdogHasThawed() {
        CompletableFuture<Integer> late = new CompletableFuture<>();
        agent.freezeReply = late;
        agent.thawReply = new CompletableFuture<>();
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofMillis(200), Duration.ofMillis(200), () -> qemuAlive)) {
            // the agent answers the freeze just after the watchdog sent its thaw
            new Thread(() -> {
                try {
                    Thread.sleep(400);
                } catch (InterruptedException e) {
                    return;
                }
                late.complete(1);
                agent.thawReply.complete(1);
            }).start();
            assertThatThrownBy(f::freeze).isInstanceOf(BackupException.class).hasMessageContaining("watchdog");
            f.thaw();
            assertThat(f.thawed()).isTrue();
            // the watchdog's thaw, and a second one sent once the late freeze had completed (whichever order
            // the two reached the agent in, the last word is a thaw)
            assertThat(agent.thaws).hasValue(2);
        }
    }

    @Test
    void aFreezeThatTimesOutIsStillThawed() {
        agent.freezeReply = new CompletableFuture<>(); // the agent never answers: it may have frozen anyway
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofMillis(100), Duration.ofMillis(100), () -> qemuAlive)) {
            assertThatThrownBy(f::freeze).isInstanceOf(BackupException.class);
            f.thaw();
            assertThat(agent.thaws).as("a timed-out freeze may have happened: thawed").hasValue(1);
            assertThat(f.thawed()).isTrue();
        }
    }

    @Test
    void aRefusedFreezeFrozeNothingAndIsNotThawed() {
        agent.freezeReply = CompletableFuture.failedFuture(new QmpErrorException("GenericError",
                "failed to freeze /data: Device or resource busy", "guest-fsfreeze-freeze"));
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofSeconds(5), Duration.ofSeconds(5), () -> qemuAlive)) {
            assertThatThrownBy(f::freeze).isInstanceOf(BackupException.class).hasMessageContaining("busy");
            f.thaw();
            assertThat(agent.thaws).as("qemu-ga undoes a partial freeze itself; someone else's freeze stays")
                    .hasValue(0);
            assertThat(f.window()).isZero();
        }
    }

    @Test
    void aFailedThawIsReportedNotSwallowed() {
        agent.thawReply = CompletableFuture.failedFuture(new QmpErrorException("GenericError",
                "failed to thaw /data", "guest-fsfreeze-thaw"));
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofSeconds(5), Duration.ofSeconds(5), () -> qemuAlive)) {
            f.freeze();
            f.thaw();
            assertThat(f.thawed()).isFalse();
            assertThat(f.thawFailure()).contains("failed to thaw /data");
            assertThat(f.window()).isZero();
        }
    }

    /**
     * The watchdog fires while the guest is paused (a failing backup's cleanup can hold the pause for longer than
     * the bound): its agent cannot answer, so that thaw fails for lack of a reply. The session's own thaw, which runs
     * once the guest runs again, must try again rather than take the old failure as the end of it.
     */
    @Test
    void aWatchdogThawThatGotNoReplyIsTriedAgainByTheSessionsThaw() throws Exception {
        agent.thawReply = new CompletableFuture<>(); // paused guest: no reply
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofMillis(100), Duration.ofMillis(200), () -> true)) {
            f.freeze();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (f.thawFailure().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(f.thawFailure()).as("the watchdog's thaw got no reply").contains("no reply");
            agent.thawReply = CompletableFuture.completedFuture(1); // the guest runs again: its agent answers
            f.thaw();
            assertThat(agent.thaws).as("thawed again").hasValue(2);
            assertThat(f.thawed()).isTrue();
            assertThat(f.thawFailure()).isEmpty();
        }
    }

    @Test
    void aSilentThawIsReportedWithinTheBound() {
        agent.thawReply = new CompletableFuture<>();
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofMillis(200), Duration.ofMillis(200), () -> qemuAlive)) {
            f.freeze();
            long t0 = System.nanoTime();
            f.thaw();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
            assertThat(f.thawFailure()).contains("no reply to guest-fsfreeze-thaw");
        }
    }

    @Test
    void aClosedChannelWhileQemuRunsIsAThawFailure() {
        agent.thawReply = CompletableFuture.failedFuture(new QmpConnectionClosedException(
                "the connection to the guest agent broke", null));
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofSeconds(30), Duration.ofSeconds(30), () -> true)) {
            f.freeze();
            f.thaw();
            assertThat(f.thawFailure()).as("the guest lives and may be frozen").contains("broke");
        }
    }

    @Test
    void aClosedChannelMeansQemuIsGoneNothingToThawAndNoHang() {
        qemuAlive = false;
        agent.thawReply = CompletableFuture.failedFuture(new QmpConnectionClosedException(
                "the guest agent's socket closed (QEMU exited?)", null));
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofSeconds(30), Duration.ofSeconds(30), () -> qemuAlive)) {
            f.freeze();
            long t0 = System.nanoTime();
            f.thaw();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
            assertThat(f.thawed()).isFalse();
            assertThat(f.thawFailure()).as("no guest left, so no frozen guest to report").isEmpty();
        }
    }

    @Test
    void anInterruptedSessionStillWaitsForTheThawAndKeepsItsInterrupt() throws Exception {
        CompletableFuture<Integer> thawReply = new CompletableFuture<>();
        agent.thawReply = thawReply;
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofSeconds(10), Duration.ofSeconds(10), () -> qemuAlive)) {
            f.freeze();
            new Thread(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    return;
                }
                thawReply.complete(1);
            }).start();
            Thread.currentThread().interrupt();
            try {
                f.thaw();
                assertThat(f.thawed()).as("the interrupt did not cut the wait for the agent short").isTrue();
                assertThat(Thread.currentThread().isInterrupted()).isTrue();
            } finally {
                Thread.interrupted();
            }
        }
    }

    @Test
    void anInterruptWhileFreezingFailsTheFreezeAndTheThawStillComes() {
        agent.freezeReply = new CompletableFuture<>();
        try (GuestFreeze f = new GuestFreeze(agent, Duration.ofSeconds(10), Duration.ofSeconds(10), () -> qemuAlive)) {
            Thread.currentThread().interrupt();
            try {
                assertThatThrownBy(f::freeze).isInstanceOf(BackupException.class).hasMessageContaining("interrupted");
                agent.freezeReply.complete(1); // the request was out: the guest froze after all
                f.thaw();
                assertThat(agent.thaws).hasValue(1);
                assertThat(f.thawed()).isTrue();
            } finally {
                Thread.interrupted();
            }
        }
    }
}
