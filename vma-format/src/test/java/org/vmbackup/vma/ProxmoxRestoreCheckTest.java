package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * qmrestore's rules and the limits of Proxmox's vma tool applied to archives written by {@link VmaWriter} and read
 * back with {@link VmaReader}: one archive that passes, and for each rule one that breaks exactly that rule.
 */
class ProxmoxRestoreCheckTest {
    private static final String CONF = "boot: order=virtio0\ncores: 2\nmemory: 2048\nname: web\n"
            + "virtio0: local:100/vm-100-disk-0.raw,size=1M\nscsi0: local:100/vm-100-disk-1.qcow2,size=128K\n";
    private static final String MAPS = "#qmdump#map:virtio0:drive-virtio0:local:raw:\n"
            + "#qmdump#map:scsi0:drive-scsi0:local:qcow2:\n";

    @TempDir
    Path dir;

    private VmaHeader archive(String conf, Map<String, Long> disks, boolean vmstate) throws IOException {
        Path file = dir.resolve("a" + System.nanoTime() + ".vma");
        VmaWriter.Builder b = VmaWriter.builder().uuid(UUID.randomUUID()).ctime(Instant.ofEpochSecond(1_700_000_000));
        if (conf != null) {
            b.config(ProxmoxConfig.BLOB_NAME, conf.getBytes(StandardCharsets.UTF_8));
        }
        disks.forEach(b::disk);
        if (vmstate) {
            b.vmstate(4096);
        }
        try (VmaWriter w = b.open(file)) {
            for (String name : disks.keySet()) {
                w.write(w.device(name), 0, ByteBuffer.wrap(new byte[512]).put(0, (byte) 7));
                if (disks.get(name) > 512) {
                    w.writeZeroes(w.device(name), 512, disks.get(name) - 512);
                }
            }
            if (vmstate) {
                try (var ch = w.vmstateChannel()) {
                    ch.write(ByteBuffer.wrap(new byte[100]));
                }
            }
        }
        try (VmaReader r = VmaReader.open(file)) {
            return r.header();
        }
    }

    private static Map<String, Long> twoDisks() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("drive-virtio0", 1L << 20);
        m.put("drive-scsi0", 128L << 10);
        return m;
    }

    @Test
    void aVzdumpShapedArchivePassesEveryRule() throws IOException {
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + MAPS, twoDisks(), true))).isEmpty();
    }

    @Test
    void anArchiveWithoutQemuServerConfFails() throws IOException {
        assertThat(ProxmoxRestoreCheck.problems(archive(null, twoDisks(), false)))
                .containsExactly("the archive has no qemu-server.conf (qmrestore reads the VM's config from it)");
    }

    @Test
    void aConfThatIsNotAQemuServerConfigFails() throws IOException {
        assertThat(ProxmoxRestoreCheck.problems(archive("{\"memory\": 2048}\n" + MAPS, twoDisks(), false)))
                .singleElement().asString().startsWith("qemu-server.conf is not a qemu-server config: line 1");
    }

    @Test
    void aDeviceWithoutAMapLineFails() throws IOException {
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + "#qmdump#map:virtio0:drive-virtio0:local:raw:\n",
                twoDisks(), true))).containsExactly("device drive-scsi0 has no map line (qmrestore refuses a device "
                        + "it cannot map)");
    }

    @Test
    void aMapLineNamingNoDeviceFails() throws IOException {
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + MAPS + "#qmdump#map:sata0:drive-sata0::raw:\n",
                twoDisks(), false))).containsExactly("map line for sata0 names device drive-sata0, which the archive "
                        + "does not have");
    }

    @Test
    void aMapLineNamingTheVmstateFails() throws IOException {
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + MAPS + "#qmdump#map:sata0:vmstate::raw:\n",
                twoDisks(), true))).containsExactly("map line for sata0 names device vmstate, which the archive "
                        + "does not have");
    }

    @Test
    void anInvalidDriveKeyFails() throws IOException {
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + "#qmdump#map:virtio16:drive-virtio0:local:raw:\n"
                + "#qmdump#map:scsi0:drive-scsi0:local:qcow2:\n", twoDisks(), false)))
                .contains("map line '#qmdump#map:virtio16:drive-virtio0:local:raw:': 'virtio16' is not a Proxmox "
                        + "drive key: virtio drives are numbered 0 to 15")
                .contains("device drive-virtio0 has no map line (qmrestore refuses a device it cannot map)");
    }

    @Test
    void anInvalidFormatFails() throws IOException {
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + "#qmdump#map:virtio0:drive-virtio0:local:vdi:\n"
                + "#qmdump#map:scsi0:drive-scsi0:local:qcow2:\n", twoDisks(), false)))
                .first().asString().contains("format 'vdi' is not one Proxmox restores");
    }

    @Test
    void aDriveKeyMappedTwiceFails() throws IOException {
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + "#qmdump#map:virtio0:drive-virtio0:local:raw:\n"
                + "#qmdump#map:virtio0:drive-scsi0:local:raw:\n", twoDisks(), false)))
                .containsExactly("drive key virtio0 is mapped twice (drive-virtio0 and drive-scsi0)");
    }

    @Test
    void aDiskOfPartialSectorsFails() throws IOException {
        Map<String, Long> disks = twoDisks();
        disks.put("drive-scsi0", (128L << 10) + 100);
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + MAPS, disks, false)))
                .containsExactly("device drive-scsi0 is 131172 bytes, not whole 512-byte sectors (Proxmox's vma can "
                        + "fail an assertion on it)");
    }

    @Test
    void everyDiskUnder64KiBFails() throws IOException {
        Map<String, Long> disks = new LinkedHashMap<>();
        disks.put("drive-virtio0", 32768L);
        disks.put("drive-scsi0", 1024L);
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + MAPS, disks, false)))
                .containsExactly("every disk is under 64 KiB (Proxmox's vma extract -v divides by zero on such an "
                        + "archive)");
        disks.put("drive-virtio0", 65536L);
        assertThat(ProxmoxRestoreCheck.problems(archive(CONF + MAPS, disks, false))).isEmpty();
    }

    @Test
    void emptyNamesFail() {
        // the writer refuses empty names, so the header is built directly: a foreign archive can hold them
        VmaHeader h = new VmaHeader(UUID.randomUUID(), Instant.now(), List.of(new VmaConfig("", new byte[1]),
                new VmaConfig(ProxmoxConfig.BLOB_NAME, (CONF + "#qmdump#map:virtio0:drive-virtio0::raw:\n")
                        .getBytes(StandardCharsets.UTF_8))), List.of(new VmaDevice(1, "drive-virtio0", 65536)), 0);
        assertThat(ProxmoxRestoreCheck.problems(h))
                .containsExactly("a config blob has an empty name (Proxmox's vma crashes on it)");
        VmaHeader d = new VmaHeader(UUID.randomUUID(), Instant.now(), h.configs().subList(1, 2),
                List.of(new VmaDevice(1, "drive-virtio0", 65536), new VmaDevice(2, "", 65536)), 0);
        assertThat(ProxmoxRestoreCheck.problems(d))
                .contains("device 2 has an empty name (Proxmox's vma crashes on it)");
    }
}
