package org.vmbackup.core.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.VmDescription;
import org.vmbackup.vma.ProxmoxConfig;
import org.vmbackup.vma.ProxmoxDriveKey;

/** Drive keys from QEMU's names, and the archive config built from the user's config or generated. */
class ProxmoxDriveKeysTest {
    private static VmDescription.Disk disk(String device, String node, String qdev, long size, String format) {
        String name = "drive-" + (device.isEmpty() ? node : device);
        return new VmDescription.Disk(name, device, node, qdev, size, format, "");
    }

    @Test
    void keysComeFromDriveIdsDeviceIdsNodeNamesTheFlashOrTheCaller() {
        List<VmDescription.Disk> disks = List.of(
                disk("drive-virtio0", "#b1", "/machine/peripheral/virtio0/virtio-backend", 1 << 20, "raw"),
                disk("hd1", "#b2", "/machine/peripheral/scsi3", 1 << 20, "qcow2"),
                disk("", "sata2", "", 1 << 20, "raw"),
                disk("pflash1", "#b4", "/machine/system.flash1", 540672, "raw"),
                disk("hd9", "#b5", "/machine/peripheral-anon/device[3]", 1 << 20, "raw"));
        Map<String, ProxmoxDriveKey> keys = ProxmoxDriveKeys.of(disks, Map.of("hd9", "ide1"));
        assertThat(keys.values()).extracting(ProxmoxDriveKey::value)
                .containsExactly("virtio0", "scsi3", "sata2", "efidisk0", "ide1");
    }

    @Test
    void aDiskWithoutAKeyABadExplicitKeyAndAKeyTwiceAreRefused() {
        VmDescription.Disk anon = disk("hd0", "#b1", "/machine/peripheral-anon/device[0]/virtio-backend", 1 << 20,
                "raw");
        assertThatThrownBy(() -> ProxmoxDriveKeys.of(List.of(anon), Map.of())).isInstanceOf(BackupException.class)
                .hasMessageStartingWith("disk hd0 has no Proxmox drive key");
        assertThatThrownBy(() -> ProxmoxDriveKeys.of(List.of(anon), Map.of("hd0", "virtio16")))
                .hasMessage("disk hd0: 'virtio16' is not a Proxmox drive key: virtio drives are numbered 0 to 15");
        assertThatThrownBy(() -> ProxmoxDriveKeys.of(List.of(disk("scsi0", "#a", "", 1 << 20, "raw"),
                disk("drive-scsi0", "#b", "", 1 << 20, "raw")), Map.of()))
                .hasMessage("disks drive-scsi0 and drive-drive-scsi0 both have the Proxmox drive key scsi0");
    }

    @Test
    void theUsersConfigGetsMapLinesWithItsStorageAndFormat() {
        ProxmoxConfig user = ProxmoxConfig.parse("""
                memory: 2048
                scsi0: nfs-store:105/vm-105-disk-0.qcow2,iothread=1,size=32G
                virtio1: local-lvm:vm-105-disk-1,size=8G
                sata0: /dev/sdb,size=1G
                """);
        Map<String, ProxmoxDriveKey> keys = new java.util.LinkedHashMap<>();
        keys.put("drive-scsi0", new ProxmoxDriveKey("scsi0"));
        keys.put("drive-virtio1", new ProxmoxDriveKey("virtio1"));
        keys.put("drive-sata0", new ProxmoxDriveKey("sata0"));
        assertThat(ProxmoxConfigPlan.fromUser(user, keys).mapLines()).extracting(m -> m.toLine()).containsExactly(
                "#qmdump#map:scsi0:drive-scsi0:nfs-store:qcow2:",
                "#qmdump#map:virtio1:drive-virtio1:local-lvm:raw:",
                "#qmdump#map:sata0:drive-sata0::raw:");
        keys.put("drive-ide0", new ProxmoxDriveKey("ide0"));
        assertThatThrownBy(() -> ProxmoxConfigPlan.fromUser(user, keys)).isInstanceOf(BackupException.class)
                .hasMessageContaining("has no ide0 line");
    }

    @Test
    void aGeneratedConfigLeavesOutWhatProxmoxWouldRefuse() {
        VmDescription vm = new VmDescription("10.0.2", "", "microvm", 3L << 30, true,
                List.of(disk("scsi0", "#a", "", 5L << 30, "vdi")));
        ProxmoxConfig c = ProxmoxConfigPlan.generated(100, vm, Map.of("drive-scsi0", new ProxmoxDriveKey("scsi0")),
                "not a dns name!", 0);
        assertThat(c.text()).isEqualTo("memory: 3072\nscsi0: local:vm-100-disk-0,size=5G\n"
                + "#qmdump#map:scsi0:drive-scsi0::raw:\n");
    }
}
