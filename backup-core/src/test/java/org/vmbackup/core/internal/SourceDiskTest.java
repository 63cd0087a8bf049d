package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.Json;

class SourceDiskTest {
    // trimmed from QEMU 7.2's query-block: two -drive disks, an empty CD-ROM, a read-only disk, a -blockdev disk
    private static final String QUERY_BLOCK = "[{\"device\":\"hd0\",\"qdev\":\"/machine/peripheral-anon/device[0]/"
            + "virtio-backend\",\"inserted\":{\"node-name\":\"#block158\",\"drv\":\"raw\",\"ro\":false,"
            + "\"file\":\"/d/d0.raw\",\"image\":{\"virtual-size\":4194304}}},"
            + "{\"device\":\"cd0\",\"qdev\":\"ide0\"},"
            + "{\"device\":\"ro0\",\"inserted\":{\"node-name\":\"#block9\",\"drv\":\"qcow2\",\"ro\":true,"
            + "\"image\":{\"virtual-size\":1048576}}},"
            + "{\"device\":\"\",\"qdev\":\"virtio1\",\"inserted\":{\"node-name\":\"disk1\",\"drv\":\"qcow2\","
            + "\"ro\":false,\"image\":{\"virtual-size\":10737418240}}}]";

    @Test
    void readsEveryDiskWithAMediumAndNamesThemForTheArchive() {
        List<SourceDisk> all = SourceDisk.fromQueryBlock(Json.parse(QUERY_BLOCK));
        assertThat(all).extracting(SourceDisk::userName).containsExactly("hd0", "ro0", "disk1");
        SourceDisk hd0 = all.get(0);
        assertThat(hd0.node()).isEqualTo("#block158");
        assertThat(hd0.size()).isEqualTo(4194304);
        assertThat(hd0.archiveName()).isEqualTo("drive-hd0");
        assertThat(hd0.file()).isEqualTo("/d/d0.raw");
        assertThat(all.get(2).archiveName()).isEqualTo("drive-disk1");
        assertThat(all.get(2).qdev()).isEqualTo("virtio1");
    }

    @Test
    void defaultsToWritableDisksAndSelectsByDeviceNodeOrArchiveName() {
        List<SourceDisk> all = SourceDisk.fromQueryBlock(Json.parse(QUERY_BLOCK));
        assertThat(SourceDisk.select(all, List.of())).extracting(SourceDisk::userName).containsExactly("hd0", "disk1");
        assertThat(SourceDisk.select(all, List.of("disk1", "drive-hd0", "ro0"))).extracting(SourceDisk::userName)
                .containsExactly("disk1", "hd0", "ro0");
        assertThat(SourceDisk.select(all, List.of("#block158"))).extracting(SourceDisk::userName).containsExactly("hd0");
        assertThatThrownBy(() -> SourceDisk.select(all, List.of("vdz"))).isInstanceOf(BackupException.class)
                .hasMessageContaining("no disk named vdz").hasMessageContaining("[hd0, ro0, disk1]");
        assertThatThrownBy(() -> SourceDisk.select(all, List.of("hd0", "drive-hd0"))).hasMessageContaining("twice");
        assertThatThrownBy(() -> SourceDisk.select(List.of(all.get(1)), List.of()))
                .hasMessageContaining("no writable disk");
    }
}
