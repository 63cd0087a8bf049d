package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.LocalDateTime;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The qemu-server config model, the map lines, drive keys and the vzdump file name, each with what Proxmox refuses. */
class ProxmoxConfigTest {
    private static final String USER = """
            # a web server
            boot: order=scsi0
            cores: 4
            lock: backup
            memory: 4096
            parent: before-upgrade
            scsi0: local-lvm:vm-105-disk-0,size=32G
            unused0: local-lvm:vm-105-disk-9
            #qmdump#map:scsi0:drive-scsi0:old:raw:

            [before-upgrade]
            memory: 2048
            scsi0: local-lvm:vm-105-disk-0,size=32G
            """;

    @Test
    void forArchiveKeepsTheMainSectionDropsWhatVzdumpDropsAndAddsTheMapLines() {
        ProxmoxConfig c = ProxmoxConfig.parse(USER);
        assertThat(c.driveKeys()).extracting(ProxmoxDriveKey::value).containsExactly("scsi0");
        assertThat(c.get("memory")).contains("4096");
        ProxmoxConfig a = c.forArchive(List.of(ProxmoxMapLine.of(new ProxmoxDriveKey("scsi0"), "local-lvm", "raw")));
        assertThat(a.text()).isEqualTo("""
                # a web server
                boot: order=scsi0
                cores: 4
                memory: 4096
                scsi0: local-lvm:vm-105-disk-0,size=32G

                #qmdump#map:scsi0:drive-scsi0:local-lvm:raw:
                """);
        assertThat(a.mapLines()).containsExactly(new ProxmoxMapLine(new ProxmoxDriveKey("scsi0"), "drive-scsi0",
                "local-lvm", "raw"));
    }

    @Test
    void textThatIsNoQemuServerConfigIsRefusedNamingTheLine() {
        assertThatThrownBy(() -> ProxmoxConfig.parse("{\n  \"memory\": 1\n}\n"))
                .hasMessage("line 1 is not a qemu-server setting ('key: value'): {");
        assertThatThrownBy(() -> ProxmoxConfig.parse("memory: 1\nMemory = 2\n"))
                .hasMessage("line 2 is not a qemu-server setting ('key: value'): Memory = 2");
        assertThatThrownBy(() -> ProxmoxConfig.parse("# only a comment\n\n"))
                .hasMessageStartingWith("it holds no qemu-server setting");
    }

    @Test
    void mapLinesRoundTripAndQmrestoresPatternIsFollowed() {
        ProxmoxMapLine m = ProxmoxMapLine.parse("#qmdump#map:efidisk0:drive-efidisk0:::").orElseThrow();
        assertThat(m.storage()).isEmpty();
        assertThat(m.format()).isEmpty();
        assertThat(m.toLine()).isEqualTo("#qmdump#map:efidisk0:drive-efidisk0:::");
        assertThat(ProxmoxMapLine.parse("#qmdump#map:scsi0:drive-scsi0:local:raw")).isEmpty(); // no final colon
        assertThat(ProxmoxMapLine.parse("#qmdump#map:scsi0:drive-scsi0:local:raw: ")).isEmpty(); // trailing blank
        assertThat(ProxmoxMapLine.of(new ProxmoxDriveKey("tpmstate0"), "", "raw").deviceName())
                .isEqualTo("drive-tpmstate0-backup");
        assertThatThrownBy(() -> ProxmoxMapLine.parse("#qmdump#map:scsi0:drive-scsi0:local:vdi:"))
                .hasMessageContaining("format 'vdi'");
        assertThatThrownBy(() -> new ProxmoxMapLine(new ProxmoxDriveKey("scsi0"), "a b", "", ""))
                .hasMessageContaining("cannot be written in a map line");
        assertThatThrownBy(() -> ProxmoxMapLine.of(new ProxmoxDriveKey("scsi0"), "no:colon", "raw"))
                .hasMessageContaining("not a Proxmox storage id");
    }

    @Test
    void driveKeysAreExactlyQemuServersDriveNames() {
        for (String ok : List.of("ide0", "ide3", "scsi0", "scsi30", "virtio0", "virtio15", "sata0", "sata5",
                "efidisk0", "tpmstate0")) {
            assertThat(ProxmoxDriveKey.isValid(ok)).as(ok).isTrue();
        }
        for (String bad : List.of("ide4", "scsi31", "virtio16", "sata6", "efidisk1", "tpmstate1", "unused0",
                "scsi01", "hd0", "drive-scsi0", "")) {
            assertThat(ProxmoxDriveKey.isValid(bad)).as(bad).isFalse();
        }
        assertThat(ProxmoxDriveKey.problem("sata6")).isEqualTo("sata drives are numbered 0 to 5");
    }

    @Test
    void vzdumpFileNamesFollowProxmoxsPattern() {
        ProxmoxArchiveName n = new ProxmoxArchiveName(105, LocalDateTime.of(2026, 12, 7, 3, 4, 5, 999), "vma.zst");
        assertThat(n.fileName()).isEqualTo("vzdump-qemu-105-2026_12_07-03_04_05.vma.zst");
        assertThat(n.logName()).isEqualTo("vzdump-qemu-105-2026_12_07-03_04_05.log");
        assertThat(n.notesName()).isEqualTo("vzdump-qemu-105-2026_12_07-03_04_05.vma.zst.notes");
        assertThat(ProxmoxArchiveName.parse(n.fileName())).contains(n);
        assertThat(ProxmoxArchiveName.parse("vzdump-qemu-99-2026_12_07-03_04_05.vma")).isEmpty();
        assertThat(ProxmoxArchiveName.parse("vzdump-lxc-105-2026_12_07-03_04_05.vma")).isEmpty();
        assertThat(ProxmoxArchiveName.parse("vzdump-qemu-105-2026_12_07-03_04_05.vma.xz")).isEmpty();
        assertThat(ProxmoxArchiveName.parse("vzdump-qemu-105-2026_13_07-03_04_05.vma")).isEmpty();
        assertThat(ProxmoxArchiveName.parse("vm.vma")).isEmpty();
        assertThatThrownBy(() -> ProxmoxArchiveName.requireVmid(99))
                .hasMessage("VMID 99 is out of Proxmox's range 100 to 999999999");
        assertThatThrownBy(() -> ProxmoxArchiveName.requireVmid(1_000_000_000L)).hasMessageContaining("out of");
        assertThat(ProxmoxArchiveName.requireVmid(999_999_999)).isEqualTo(999_999_999);
    }
}
