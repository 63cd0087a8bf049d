package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CleanupAndInboxTest {
    @Test
    void runsStepsNewestFirstAndKeepsGoingPastFailures() {
        List<String> ran = new ArrayList<>();
        Cleanup c = new Cleanup();
        c.push("a", () -> ran.add("a"));
        c.push("b", () -> {
            ran.add("b");
            throw new IllegalStateException("stuck");
        });
        c.push("c", () -> ran.add("c"));
        assertThat(c.runAll()).isEqualTo(1);
        assertThat(ran).containsExactly("c", "b", "a");
        assertThat(c.runAll()).isZero();
        assertThat(ran).hasSize(3);
    }

    @Test
    void anErrorInOneStepNeitherStopsTheOthersNorEscapes() {
        List<String> ran = new ArrayList<>();
        Cleanup c = new Cleanup();
        c.push("first", () -> ran.add("first"));
        c.push("broken", () -> {
            throw new AssertionError("a bug in an undo step");
        });
        c.push("last", () -> ran.add("last"));
        assertThat(c.runAll()).isEqualTo(1);
        assertThat(ran).containsExactly("last", "first");
    }

    @Test
    void inboxIsBoundedAndSaysSoInsteadOfGrowing() throws InterruptedException {
        SessionInbox in = new SessionInbox(2);
        in.offer("e1");
        in.offer("e2");
        assertThat(in.overflowed()).isFalse();
        in.offer("e3");
        assertThat(in.overflowed()).isTrue();
        assertThat(in.poll(Duration.ZERO)).isEqualTo("e1");
        assertThat(in.poll(Duration.ZERO)).isEqualTo("e2");
        assertThat(in.poll(Duration.ofMillis(10))).isNull();
        in.wake();
        assertThat(in.poll(Duration.ZERO)).isSameAs(SessionInbox.WAKE);
    }
}
