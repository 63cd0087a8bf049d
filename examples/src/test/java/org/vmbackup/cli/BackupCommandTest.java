package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BackupCommandTest {
    @TempDir
    Path dir;
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream oldErr;

    @BeforeEach
    void captureErr() {
        oldErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restoreErr() {
        System.setErr(oldErr);
    }

    @Test
    void cbwTimeoutTakesPositiveSecondsWithFractions() {
        SecondsConverter c = new SecondsConverter();
        assertThat(c.convert("10")).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.convert("2.5")).isEqualTo(Duration.ofMillis(2500));
        assertThat(c.convert(" 600 ")).isEqualTo(Duration.ofSeconds(600));
        assertThat(c.convert("0.001")).isEqualTo(Duration.ofMillis(1));
        for (String bad : new String[] {"0", "-1", "601", "0.0001", "abc", "", "10s", "1e400"}) {
            assertThatThrownBy(() -> c.convert(bad)).as(bad).isInstanceOf(CommandLine.TypeConversionException.class)
                    .hasMessageContaining("seconds");
        }
    }

    @Test
    void aBadCbwTimeoutIsAUsageErrorBeforeAnythingIsTouched() {
        Path archive = dir.resolve("a.vma");
        for (String bad : new String[] {"0", "-3", "abc", "601"}) {
            err.reset();
            assertThat(VmaBackupCli.execute("backup", "--qmp", dir.resolve("no.sock").toString(), "--cbw-timeout",
                    bad, archive.toString())).as(bad).isEqualTo(ExitCode.USAGE);
            assertThat(err.toString(StandardCharsets.UTF_8)).as(bad).contains("--cbw-timeout").contains(bad)
                    .doesNotContain("Exception");
        }
        assertThat(archive).doesNotExist();
    }

    @Test
    void theHelpNamesTheCbwTimeoutAndItsDefault() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertThat(VmaBackupCli.execute("backup", "--help")).isEqualTo(ExitCode.OK);
        } finally {
            System.setOut(old);
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--cbw-timeout=SECONDS").contains("default: 10)");
    }

    private static CommandLine.ParseResult parse(String... args) {
        return new CommandLine(new BackupCommand()).parseArgs(args);
    }

    @Test
    void fsFreezeAloneIsRequiredAndDoesNotSwallowTheArchive() {
        CommandLine.ParseResult p = parse("--qmp", "q.sock", "--fs-freeze", "a.vma");
        assertThat(p.hasMatchedOption("--fs-freeze")).isTrue();
        assertThat(p.hasMatchedOption("--fs-freeze=try")).isFalse();
        assertThat(p.matchedPositionalValue(0, (Path) null)).isEqualTo(Path.of("a.vma"));
        p = parse("--qmp", "q.sock", "--fs-freeze=try", "--qga", "g.sock", "a.vma");
        assertThat(p.hasMatchedOption("--fs-freeze=try")).isTrue();
        assertThat(p.hasMatchedOption("--fs-freeze")).isFalse();
        assertThat(p.matchedOptionValue("--qga", (Path) null)).isEqualTo(Path.of("g.sock"));
        assertThat(p.matchedPositionalValue(0, (Path) null)).isEqualTo(Path.of("a.vma"));
        assertThat(parse("--qmp", "q.sock", "a.vma").hasMatchedOption("--fs-freeze")).isFalse();
    }

    @Test
    void aBadFreezeModeOrQgaWithoutFreezeIsAUsageErrorBeforeAnythingIsTouched() {
        Path archive = dir.resolve("a.vma");
        err.reset();
        assertThat(VmaBackupCli.execute("backup", "--qmp", dir.resolve("no.sock").toString(), "--fs-freeze=maybe",
                archive.toString())).isEqualTo(ExitCode.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--fs-freeze").contains("maybe")
                .doesNotContain("Exception");
        err.reset();
        assertThat(VmaBackupCli.execute("backup", "--qmp", dir.resolve("no.sock").toString(), "--qga",
                dir.resolve("g.sock").toString(), archive.toString())).isEqualTo(ExitCode.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--qga").contains("--fs-freeze")
                .doesNotContain("Exception");
        assertThat(archive).doesNotExist();
    }
}
