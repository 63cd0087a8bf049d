package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class VmaBackupCliTest {
    @RegisterExtension
    final StdCapture std = new StdCapture();
    private final ByteArrayOutputStream out = std.out;
    private final ByteArrayOutputStream err = std.err;

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
    void backupRefusesABadBwlimitBeforeTouchingQemu() {
        assertThat(VmaBackupCli.execute("backup", "--qmp", "/nonexistent.sock", "--bwlimit", "1.5X", "a.vma"))
                .isEqualTo(ExitCode.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--bwlimit").contains("'1.5X'")
                .doesNotContain("/nonexistent.sock");
    }

    @Test
    void backupAndRestoreHelpSayWhatARateIs() {
        for (String cmd : new String[] {"backup", "restore"}) {
            out.reset();
            assertThat(VmaBackupCli.execute(cmd, "--help")).isEqualTo(ExitCode.OK);
            assertThat(out.toString(StandardCharsets.UTF_8).replaceAll("\\s+", " ")).contains("--bwlimit=RATE")
                    .contains("1024-based").contains("0 = unlimited");
        }
    }

    @Test
    void missingSubcommandIsAUsageError() {
        assertThat(VmaBackupCli.execute()).isEqualTo(ExitCode.USAGE);
    }

    @Test
    void onlyTheNamedSubcommandIsBuiltAndEverythingElseGetsAll() {
        assertThat(VmaBackupCli.subcommandsFor("backup", "--qmp", "q.sock")).containsExactly(BackupCommand.class);
        assertThat(VmaBackupCli.subcommandsFor("store", "list")).containsExactly(StoreCommand.class);
        assertThat(VmaBackupCli.subcommandsFor("--help")).hasSize(7).startsWith(BackupCommand.class);
        assertThat(VmaBackupCli.subcommandsFor("bakup")).hasSize(7);
        assertThat(VmaBackupCli.subcommandsFor()).hasSize(7);
    }

    @Test
    void aMistypedSubcommandIsAUsageErrorThatSuggestsTheRightOne() {
        assertThat(VmaBackupCli.execute("bakup", "--qmp", "q.sock")).isEqualTo(ExitCode.USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("backup");
    }
}
