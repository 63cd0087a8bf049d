package org.vmbackup.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The process runner against real programs (bash, cat, head): output, exit codes, and never a hang. */
class ProcessRunnerTest {
    @TempDir
    Path dir;

    @Test
    void keepsStdoutStderrAndTheExitCodeApartAndFeedsStdin() throws Exception {
        ProcessResult r = ProcessRunner.command("bash", "-c", "cat; echo oops >&2; exit 3").stdin("hello\n").run();
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stdout()).isEqualTo("hello\n");
        assertThat(r.stderr()).isEqualTo("oops\n");
        assertThat(r.output()).isEqualTo("hello\noops\n");
        assertThatThrownBy(r::requireSuccess).isInstanceOf(ProcessRunnerException.class)
                .hasMessageContaining("bash -c cat; echo oops >&2; exit 3: exited with 3").hasMessageContaining("oops");
    }

    @Test
    void mergedStderrIsInterleavedIntoStdout() throws Exception {
        ProcessResult r = ProcessRunner.command("bash", "-c", "echo a; echo b >&2; echo c").mergeStderr().run()
                .requireSuccess();
        assertThat(r.stdout()).isEqualTo("a\nb\nc\n");
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    void outputLargerThanAPipeDoesNotBlockTheProgram() throws Exception {
        // 8 MiB on each stream: a test that waited for the exit before reading would wait for ever.
        ProcessResult r = ProcessRunner.command("bash", "-c", "head -c 8388608 /dev/zero | tr '\\0' x; "
                + "head -c 8388608 /dev/zero | tr '\\0' y >&2").timeout(Duration.ofSeconds(60)).run().requireSuccess();
        assertThat(r.stdout()).hasSize(8 << 20);
        assertThat(r.stderr()).hasSize(8 << 20);
    }

    @Test
    void environmentAndDirectoryAreTheProgramsOwn() throws Exception {
        ProcessResult r = ProcessRunner.command("bash", "-c", "echo \"$PWD ${A:-unset} ${HOME:-nohome}\"")
                .directory(dir).env("A", "set").env("HOME", null).run().requireSuccess();
        assertThat(r.stdout().strip()).isEqualTo(dir.toRealPath() + " set nohome");
    }

    @Test
    void aProgramThatOutlastsItsTimeoutIsKilledWithItsChildrenAndItsOutputIsKept() throws Exception {
        long t0 = System.nanoTime();
        ProcessRunner hanging = ProcessRunner.command("bash", "-c", "sleep 1000 & echo child=$!; wait")
                .timeout(Duration.ofMillis(500));
        ProcessRunnerException e = org.junit.jupiter.api.Assertions.assertThrows(ProcessRunnerException.class,
                hanging::run);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThat(e).hasMessageContaining("bash -c sleep 1000 & echo child=$!; wait: did not exit within 500 ms");
        Matcher m = Pattern.compile("child=(\\d+)").matcher(e.output());
        assertThat(m.find()).as("output so far: " + e.output()).isTrue();
        Optional<ProcessHandle> child = ProcessHandle.of(Long.parseLong(m.group(1)));
        assertThat(child.map(ProcessHandle::isAlive).orElse(false)).as("the child was killed too").isFalse();
    }

    @Test
    void aRunningProgramCanBeWatchedLineByLineAndIsKilledOnClose() throws Exception {
        RunningProcess p;
        try (RunningProcess running = ProcessRunner.command("bash", "-c", "echo one; echo two; sleep 1000").start()) {
            p = running;
            assertThat(running.awaitLine(l -> l.startsWith("tw"), Duration.ofSeconds(30))).isEqualTo("two");
            assertThatThrownBy(() -> running.awaitLine("three"::equals, Duration.ofMillis(200)))
                    .isInstanceOf(ProcessRunnerException.class).hasMessageContaining("no awaited line within 200 ms")
                    .hasMessageContaining("one\ntwo");
        }
        assertThat(p.process().isAlive()).isFalse();
    }

    @Test
    void aProgramThatCannotStartNamesItself() {
        assertThatThrownBy(() -> ProcessRunner.command(dir.resolve("no-such-tool").toString()).run())
                .isInstanceOf(ProcessRunnerException.class).hasMessageContaining("no-such-tool: could not start");
    }
}
