package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.command.QueryCommands.BlockDeviceInfo;
import org.vmbackup.qmp.command.QueryCommands.BlockInfo;

/** A vzdump archive's devices go to a plain QEMU whose disks are named as Proxmox names them, by drive key. */
class ProxmoxRestoreMatchTest {
    private static BlockInfo disk(String name, long size) {
        return new BlockInfo(name, "", false, new BlockDeviceInfo("#block-" + name, "raw", "/img/" + name + ".raw",
                false, size, List.of(), JsonObject.EMPTY), JsonObject.EMPTY);
    }

    @Test
    void vzdumpDevicesMatchQemuDisksNamedByDriveKeyIncludingTheTpmState() {
        List<ArchiveDisk> vzdump = List.of(new ArchiveDisk("drive-scsi0", 1 << 20),
                new ArchiveDisk("drive-efidisk0", 540672), new ArchiveDisk("drive-tpmstate0-backup", 4 << 20));
        assertThat(RestoreDiskMatch.match(vzdump, List.of(disk("drive-scsi0", 1 << 20),
                disk("drive-efidisk0", 540672), disk("drive-tpmstate0", 4 << 20))))
                .extracting(RestoreDiskMatch::qemuDevice)
                .containsExactly("drive-scsi0", "drive-efidisk0", "drive-tpmstate0");
        assertThat(RestoreDiskMatch.match(vzdump, List.of(disk("scsi0", 1 << 20), disk("efidisk0", 540672),
                disk("tpmstate0", 4 << 20)))).extracting(RestoreDiskMatch::qemuDevice)
                .containsExactly("scsi0", "efidisk0", "tpmstate0");
        assertThat(RestoreDiskMatch.match(vzdump.subList(0, 2), List.of(disk("scsi0", 1 << 20),
                disk("pflash1", 540672)))).extracting(RestoreDiskMatch::qemuDevice).containsExactly("scsi0", "pflash1");
    }
}
