package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.vmbackup.core.BackupException;

/** A tool's wait is bounded, and so is the output kept of it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ToolProcessTest {
    @Test
    void keepsOnlyTheEndOfAChattyToolsOutput() throws Exception {
        ToolProcess p = ToolProcess.start(List.of("sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' a; echo; echo THE-END"));
        ToolProcess.Outcome o = p.await(Duration.ofSeconds(30), "test");
        assertThat(o.exitCode()).isZero();
        assertThat(o.output()).endsWith("THE-END").startsWith("[").contains("bytes of output left out");
        assertThat(o.output().length()).isLessThanOrEqualTo(2 * ToolProcess.KEPT + 100);
    }

    @Test
    void aQuietToolsOutputIsKeptWhole() throws Exception {
        ToolProcess.Outcome o = ToolProcess.start(List.of("sh", "-c", "echo one; echo two >&2; exit 3"))
                .await(Duration.ofSeconds(30), "test");
        assertThat(o.exitCode()).isEqualTo(3);
        assertThat(o.output()).isEqualTo("one\ntwo");
    }

    @Test
    void aToolThatOutlastsItsBoundIsStoppedAndNamed() throws Exception {
        ToolProcess p = ToolProcess.start(List.of("sh", "-c", "echo started; exec sleep 30"));
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> p.await(Duration.ofMillis(500), "making the overlay"))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("making the overlay: sh did not finish within 0 s and was stopped")
                .hasMessageContaining("started");
        assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(15));
    }
}
