package org.vmbackup.core.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ArchiveSink;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.VmDescription;
import org.vmbackup.vma.ProxmoxArchiveName;
import org.vmbackup.vma.ProxmoxConfig;
import org.vmbackup.vma.ProxmoxRestoreCheck;
import org.vmbackup.vma.VmaCompression;
import org.vmbackup.vma.VmaExtractor;
import org.vmbackup.vma.VmaHeader;
import org.vmbackup.vma.VmaReader;

/**
 * {@link ProxmoxTarget} given a backup's layout, without QEMU: what lands in the dump directory on commit and on
 * abort, the padding of a disk that is not whole sectors, and the refusals before anything is written.
 */
class ProxmoxTargetTest {
    /** 2026-12-07 03:04:05 in Berlin (UTC+1): the name carries local time. */
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-07T02:04:05Z"), ZoneId.of("Europe/Berlin"));

    @TempDir
    Path dump;

    private static ArchiveLayout layout(long... sizes) {
        List<ArchiveDisk> disks = new java.util.ArrayList<>();
        List<VmDescription.Disk> described = new java.util.ArrayList<>();
        String[] names = {"drive-virtio0", "scsi1", "pflash1"};
        for (int i = 0; i < sizes.length; i++) {
            String device = names[i].startsWith("drive-") ? names[i].substring(6) : names[i];
            disks.add(new ArchiveDisk("drive-" + device, sizes[i]));
            described.add(new VmDescription.Disk("drive-" + device, device, "#n" + i, "", sizes[i], "raw", ""));
        }
        VmDescription vm = new VmDescription("7.2.0", "", "pc-i440fx-7.2", 256L << 20, false, described);
        return new ArchiveLayout(UUID.randomUUID(), CLOCK.instant(), disks, 0, List.of(vm.toConfigBlob()));
    }

    private List<String> files() throws Exception {
        try (Stream<Path> s = Files.list(dump)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void commitWritesTheVzdumpNamedArchiveItsLogAndNotesAndPadsToWholeSectors() throws Exception {
        byte[] a = new byte[1 << 20];
        new Random(1).nextBytes(a);
        byte[] b = new byte[70_000]; // not whole sectors: padded to 70 144 bytes
        new Random(2).nextBytes(b);
        ArchiveSink sink = ProxmoxTarget.builder(105, dump).clock(CLOCK).vmName("db").cores(2).notes("nightly")
                .compression(VmaCompression.NONE).build().open(layout(a.length, b.length));
        sink.write(0, 0, ByteBuffer.wrap(a));
        sink.write(1, 0, ByteBuffer.wrap(b));
        // the archive grows under a name Proxmox does not list (its pattern ends in .vma[.comp]); no side files yet
        assertThat(files()).noneMatch(f -> ProxmoxArchiveName.parse(f).isPresent())
                .noneMatch(f -> f.endsWith(".log") || f.endsWith(".notes"));
        sink.commit();

        String stem = "vzdump-qemu-105-2026_12_07-03_04_05";
        assertThat(files()).containsExactly(stem + ".log", stem + ".vma", stem + ".vma.notes");
        assertThat(Files.readString(dump.resolve(stem + ".vma.notes"))).isEqualTo("nightly\n");
        assertThat(Files.readString(dump.resolve(stem + ".log"))).startsWith("2026-12-07 03:04:05 INFO: Starting "
                + "Backup of VM 105 (qemu)\n").contains("INFO: include disk 'scsi1' '#n1' 70000 bytes")
                .contains("INFO: VM Name: db").contains("INFO: Backup started at 2026-12-07 03:04:05\n");
        try (VmaReader r = VmaReader.open(dump.resolve(stem + ".vma"))) {
            VmaHeader h = r.header();
            assertThat(ProxmoxRestoreCheck.problems(h)).isEmpty();
            assertThat(h.devices()).extracting(d -> d.name() + "=" + d.size())
                    .containsExactly("drive-virtio0=1048576", "drive-scsi1=70144");
            assertThat(h.config(VmDescription.CONFIG_NAME)).isPresent();
            assertThat(new String(h.config(ProxmoxConfig.BLOB_NAME).orElseThrow().data(), StandardCharsets.UTF_8))
                    .isEqualTo("""
                            cores: 2
                            machine: pc-i440fx-7.2
                            memory: 256
                            name: db
                            scsi1: local:vm-105-disk-1,size=70000
                            virtio0: local:vm-105-disk-0,size=1M
                            #qmdump#map:virtio0:drive-virtio0::raw:
                            #qmdump#map:scsi1:drive-scsi1::raw:
                            """);
            Path out = dump.resolveSibling(dump.getFileName() + "-x");
            VmaExtractor.extract(r, out, java.util.Set.of(), line -> { });
            assertThat(Files.readAllBytes(out.resolve("disk-drive-scsi1.raw"))).as("data, then zeros to the sector")
                    .isEqualTo(java.util.Arrays.copyOf(b, 70144));
            assertThat(Files.readAllBytes(out.resolve("disk-drive-virtio0.raw"))).isEqualTo(a);
        }
    }

    @Test
    void abortLeavesNothing() throws Exception {
        ArchiveSink sink = ProxmoxTarget.builder(105, dump).clock(CLOCK).notes("x").build().open(layout(1 << 20));
        sink.write(0, 0, ByteBuffer.wrap(new byte[4096]));
        sink.abort();
        assertThat(files()).isEmpty();
    }

    @Test
    void refusesBeforeAnythingIsWritten() throws Exception {
        assertThatThrownBy(() -> ProxmoxTarget.builder(42, dump)).hasMessage("VMID 42 is out of Proxmox's range 100 "
                + "to 999999999");
        assertThatThrownBy(() -> ProxmoxTarget.builder(105, dump).clock(CLOCK).build().open(layout(32768)))
                .isInstanceOf(BackupException.class).hasMessageContaining("every disk is under 64 KiB");
        ArchiveLayout noKey = new ArchiveLayout(UUID.randomUUID(), CLOCK.instant(), List.of(new ArchiveDisk(
                "drive-hd0", 1 << 20)), 0, List.of(new VmDescription("7.2.0", "", "pc", 1 << 30, false,
                List.of(new VmDescription.Disk("drive-hd0", "hd0", "n", "/machine/peripheral-anon/device[0]/"
                        + "virtio-backend", 1 << 20, "raw", ""))).toConfigBlob()));
        assertThatThrownBy(() -> ProxmoxTarget.builder(105, dump).build().open(noKey))
                .isInstanceOf(BackupException.class).hasMessageStartingWith("disk hd0 has no Proxmox drive key");
        ProxmoxConfig user = ProxmoxConfig.parse("memory: 512\nscsi0: local:vm-105-disk-0,size=1M\n");
        assertThatThrownBy(() -> ProxmoxTarget.builder(105, dump).config(user).build().open(layout(1 << 20)))
                .isInstanceOf(BackupException.class).hasMessageContaining("has no virtio0 line");
        assertThatThrownBy(() -> ProxmoxTarget.builder(105, dump).build().open(new ArchiveLayout(UUID.randomUUID(),
                CLOCK.instant(), List.of(new ArchiveDisk("drive-virtio0", 1 << 20)), 0, List.of())))
                .isInstanceOf(BackupException.class).hasMessageContaining("vm.json");
        assertThat(files()).isEmpty();
    }

    @Test
    void theEfiVarsFlashIsTheEfiDisk() throws Exception {
        ArchiveSink sink = ProxmoxTarget.builder(105, dump).clock(CLOCK).compression(VmaCompression.NONE).build()
                .open(layout(1 << 20, 1 << 20, 540672));
        for (int i = 0; i < 3; i++) {
            sink.writeZeroes(i, 0, i == 2 ? 540672 : 1 << 20);
        }
        sink.commit();
        try (VmaReader r = VmaReader.open(dump.resolve("vzdump-qemu-105-2026_12_07-03_04_05.vma"))) {
            String conf = new String(r.header().config(ProxmoxConfig.BLOB_NAME).orElseThrow().data(),
                    StandardCharsets.UTF_8);
            assertThat(conf).startsWith("bios: ovmf\n").contains("efidisk0: local:vm-105-disk-2,efitype=4m,size=528K\n")
                    .contains("#qmdump#map:efidisk0:drive-efidisk0::raw:\n");
        }
    }
}
