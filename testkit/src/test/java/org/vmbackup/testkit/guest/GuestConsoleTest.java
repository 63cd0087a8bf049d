package org.vmbackup.testkit.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class GuestConsoleTest {
    @TempDir
    Path dir;

    @Test
    void followsTheCounterAndRecordsAcrossPartialLines() throws Exception {
        Path file = dir.resolve("console.log");
        GuestConsole console = new GuestConsole(file, () -> true, () -> "");
        assertThat(console.lastTick()).isEmpty();
        Files.writeString(file, "vmbackup-guest: ready\r\ntick 1\r\ntick 2\r\nrec 1 2345\r\ntic");
        assertThat(console.awaitTick(2, Duration.ofSeconds(5))).isEqualTo(2);
        assertThat(console.lastRecord()).hasValue(1);
        Files.writeString(file, "k 3\r\n", StandardOpenOption.APPEND);
        assertThat(console.awaitTick(3, Duration.ofSeconds(5))).isEqualTo(3);
        assertThat(console.recordWrites()).containsExactly(new GuestConsole.RecordWrite(1, 2345));
        Files.writeString(file, "rec 2\r\nrec x 1\r\n", StandardOpenOption.APPEND);
        assertThat(console.lastRecord()).hasValue(2);
        assertThat(console.recordWrites()).containsExactly(new GuestConsole.RecordWrite(1, 2345),
                new GuestConsole.RecordWrite(2, -1));
        assertThat(console.lines()).containsExactly("vmbackup-guest: ready", "tick 1", "tick 2", "rec 1 2345", "tick 3",
                "rec 2", "rec x 1");
        assertThat(console.awaitLine(l -> l.endsWith("ready"), Duration.ofSeconds(1), "ready"))
                .isEqualTo("vmbackup-guest: ready");
        // A new QEMU truncates the file: the console starts over.
        Files.writeString(file, "tick 1\n");
        assertThat(console.lines()).containsExactly("tick 1");
        assertThat(console.lastTick()).hasValue(1);
        assertThat(console.lastRecord()).isEmpty();
        assertThat(console.recordWrites()).isEmpty();
    }

    @Test
    void waitsAreBoundedAndEndWhenQemuExits() throws Exception {
        Path file = dir.resolve("console.log");
        Files.writeString(file, "tick 1\n");
        AtomicBoolean alive = new AtomicBoolean(true);
        GuestConsole console = new GuestConsole(file, alive::get, () -> "qemu: killed");
        assertThatThrownBy(() -> console.awaitTick(5, Duration.ofMillis(300))).isInstanceOf(TimeoutException.class)
                .hasMessageContaining("tick 5").hasMessageContaining("tick 1");
        alive.set(false);
        assertThatThrownBy(() -> console.awaitRecord(1, Duration.ofMinutes(5)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("QEMU exited")
                .hasMessageContaining("qemu: killed");
    }
}
