package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class VmaBackupCliTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream oldOut;
    private PrintStream oldErr;

    @BeforeEach
    void capture() {
        oldOut = System.out;
        oldErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(oldOut);
        System.setErr(oldErr);
    }

    @Test
    void helpListsTheFiveSubcommands() {
        assertThat(VmaBackupCli.execute("--help")).isEqualTo(ExitCode.OK);
        assertThat(out.toString(StandardCharsets.UTF_8))
                .contains("backup", "restore", "vma", "nbd", "qmp").contains("Exit codes");
    }

    @Test
    void versionNamesTheProjectVersion() {
        assertThat(VmaBackupCli.execute("--version")).isEqualTo(ExitCode.OK);
        assertThat(out.toString(StandardCharsets.UTF_8)).containsPattern("vmabackup \\d+\\.\\d+\\.\\d+");
    }

    @Test
    void unknownOptionIsAUsageError() {
        assertThat(VmaBackupCli.execute("--no-such-option")).isEqualTo(ExitCode.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("no-such-option");
    }

    @Test
    void missingSubcommandIsAUsageError() {
        assertThat(VmaBackupCli.execute()).isEqualTo(ExitCode.USAGE);
    }
}
