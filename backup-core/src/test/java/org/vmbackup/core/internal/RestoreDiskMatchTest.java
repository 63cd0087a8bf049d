package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.command.QueryCommands.BlockDeviceInfo;
import org.vmbackup.qmp.command.QueryCommands.BlockInfo;
import org.vmbackup.core.ArchiveDisk;

class RestoreDiskMatchTest {
    private static BlockInfo disk(String name, long size, boolean readOnly) {
        return new BlockInfo(name, "", false, new BlockDeviceInfo("#block-" + name, "raw", "/img/" + name + ".raw",
                readOnly, size, List.of(), JsonObject.EMPTY), JsonObject.EMPTY);
    }

    @Test
    void matchesDriveNamesAndSizesIgnoringReadOnlyDisks() {
        List<RestoreDiskMatch> m = RestoreDiskMatch.match(
                List.of(new ArchiveDisk("drive-hd0", 100), new ArchiveDisk("hd1", 200)),
                List.of(disk("hd0", 100, false), disk("hd1", 200, false), disk("cd0", 5, true),
                        new BlockInfo("empty", "", true, null, JsonObject.EMPTY)));
        assertThat(m).extracting(RestoreDiskMatch::qemuDevice).containsExactly("hd0", "hd1");
        assertThat(m.get(0).file()).isEqualTo("/img/hd0.raw");
        assertThat(m.get(0).nodeName()).isEqualTo("#block-hd0");
    }

    @Test
    void listsEveryMismatch() {
        assertThatThrownBy(() -> RestoreDiskMatch.match(
                List.of(new ArchiveDisk("drive-hd0", 100), new ArchiveDisk("drive-hd1", 200)),
                List.of(disk("hd0", 101, false), disk("hd9", 200, false))))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("archive disk drive-hd0 is 100 bytes but QEMU disk hd0 is 101 bytes")
                .hasMessageContaining("archive disk drive-hd1 (200 bytes) has no writable disk named 'hd1'")
                .hasMessageContaining("QEMU disk hd9 is not in the archive");
    }

    @Test
    void unsafeDeviceNamesAreRefused() {
        for (String bad : List.of("../x", "a/b", ".hidden", "..", "", "a\u0000b", "a\\b")) {
            assertThatThrownBy(() -> RestoreNames.check(bad)).as(bad).isInstanceOf(BackupException.class)
                    .hasMessageContaining("not a plain file name");
        }
        RestoreNames.check("drive-scsi0");
    }
}
