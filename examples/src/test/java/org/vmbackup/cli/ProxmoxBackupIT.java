package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;
import org.vmbackup.vma.ProxmoxArchiveName;
import org.vmbackup.vma.ProxmoxConfig;
import org.vmbackup.vma.ProxmoxRestoreCheck;
import org.vmbackup.vma.VmaHeader;
import org.vmbackup.vma.VmaReader;

/**
 * {@code vmabackup backup --proxmox} of a live VM with a virtio, a SCSI and a SATA disk and UEFI variables in flash,
 * named the way Proxmox names them: the archive passes Proxmox's restore rules, is named and accompanied as vzdump's
 * are, and {@code vma extract -v} prints what qmrestore parses, then restores the disks' data.
 */
class ProxmoxBackupIT {
    private static final int VMID = 105;
    private static final long EFI_VARS = 540672; // OVMF 4 MiB builds' variable store

    @RegisterExtension
    final StdCapture std = new StdCapture();
    private final ByteArrayOutputStream out = std.out;
    private final ByteArrayOutputStream err = std.err;

    @TempDir
    Path tmp;

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private QemuProcess startVm(byte[] v0, byte[] s0, byte[] a0, byte[] vars, String... extra) throws Exception {
        Path raw = Files.write(tmp.resolve("s0-" + extra.length + ".raw"), s0);
        Path qcow2 = tmp.resolve("s0-" + extra.length + ".qcow2");
        ProcessRunner.command("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString())
                .run().requireSuccess();
        byte[] code = new byte[1 << 20];
        Arrays.fill(code, (byte) 0xf4); // hlt at the reset vector: the firmware flash need not boot anything
        return QemuProcess.system().args("-name", "web-1",
                "-drive", "if=none,id=drive-virtio0,file={dir}/v0.raw,format=raw",
                "-device", "virtio-blk-pci,drive=drive-virtio0,id=virtio0",
                "-device", "virtio-scsi-pci,id=scsihw0",
                "-drive", "if=none,id=drive-scsi0,file=" + qcow2 + ",format=qcow2",
                "-device", "scsi-hd,bus=scsihw0.0,drive=drive-scsi0,id=scsi0",
                "-device", "ahci,id=ahci0",
                "-drive", "if=none,id=drive-sata0,file={dir}/a0.raw,format=raw",
                "-device", "ide-hd,bus=ahci0.0,drive=drive-sata0,id=sata0",
                "-drive", "if=pflash,unit=0,format=raw,readonly=on,file={dir}/code.raw",
                "-drive", "if=pflash,unit=1,format=raw,file={dir}/vars.raw").args(extra).start(dir -> {
                    Files.write(dir.resolve("v0.raw"), v0);
                    Files.write(dir.resolve("a0.raw"), a0);
                    Files.write(dir.resolve("code.raw"), code);
                    Files.write(dir.resolve("vars.raw"), vars);
                });
    }

    @Test
    void aLiveBackupInProxmoxModeIsWhatQmrestoreTakes() throws Exception {
        byte[] v0 = random(4 << 20, 1);
        byte[] s0 = random(2 << 20, 2);
        byte[] a0 = random(1 << 20, 3);
        byte[] vars = random((int) EFI_VARS, 4);
        Path dump = Files.createDirectory(tmp.resolve("dump"));
        try (QemuProcess vm = startVm(v0, s0, a0, vars)) {
            int code = VmaBackupCli.execute("backup", "--qmp", vm.qmpSocket().toString(), "--proxmox", "" + VMID,
                    "--dump-dir", dump.toString(), "--notes", "before the upgrade");
            assertThat(code).as(out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8))
                    .isEqualTo(ExitCode.OK);
        }
        List<String> files;
        try (Stream<Path> s = Files.list(dump)) {
            files = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertThat(files).hasSize(3);
        ProxmoxArchiveName name = ProxmoxArchiveName.parse(files.get(1)).orElseThrow(() -> new AssertionError(
                "not a vzdump name: " + files));
        assertThat(name.vmid()).isEqualTo(VMID);
        assertThat(name.extension()).isEqualTo("vma.zst");
        assertThat(files).containsExactly(name.logName(), name.fileName(), name.notesName());
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("Backup complete: " + dump.resolve(name.fileName()));
        assertThat(Files.readString(dump.resolve(name.notesName()))).isEqualTo("before the upgrade\n");
        String log = Files.readString(dump.resolve(name.logName()));
        assertThat(log).contains("INFO: Starting Backup of VM 105 (qemu)").contains("INFO: VM Name: web-1")
                .contains("INFO: include disk 'virtio0'").contains("' 4M").contains("INFO: include disk 'efidisk0'")
                .contains("' 528K").containsPattern("INFO: Finished Backup of VM 105 \\(\\d\\d:\\d\\d:\\d\\d\\)");

        Path archive = dump.resolve(name.fileName());
        VmaHeader header;
        try (VmaReader r = VmaReader.open(archive)) {
            header = r.header();
        }
        assertThat(ProxmoxRestoreCheck.problems(header)).isEmpty();
        assertThat(header.devices()).extracting(d -> d.name() + "=" + d.size()).containsExactlyInAnyOrder(
                "drive-virtio0=" + (4 << 20), "drive-scsi0=" + (2 << 20), "drive-sata0=" + (1 << 20),
                "drive-efidisk0=" + EFI_VARS, "vmstate=" + header.device("vmstate").orElseThrow().size());
        ProxmoxConfig conf = ProxmoxConfig.parse(new String(header.config(ProxmoxConfig.BLOB_NAME).orElseThrow().data(),
                StandardCharsets.UTF_8));
        assertThat(conf.mapLines()).extracting(m -> m.toLine()).containsExactlyInAnyOrder(
                "#qmdump#map:virtio0:drive-virtio0::raw:", "#qmdump#map:scsi0:drive-scsi0::qcow2:",
                "#qmdump#map:sata0:drive-sata0::raw:", "#qmdump#map:efidisk0:drive-efidisk0::raw:");
        assertThat(conf.settings()).containsEntry("name", "web-1").containsEntry("bios", "ovmf")
                .containsEntry("memory", "128").containsKeys("virtio0", "scsi0", "sata0", "efidisk0", "cores");
        assertThat(conf.get("efidisk0").orElseThrow()).contains("efitype=4m").endsWith("size=528K");

        out.reset();
        assertThat(VmaBackupCli.execute("vma", "config", archive.toString())).isEqualTo(ExitCode.OK);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(conf.text());

        out.reset();
        Path extracted = tmp.resolve("x");
        assertThat(VmaBackupCli.execute("vma", "extract", "-v", archive.toString(), extracted.toString()))
                .isEqualTo(ExitCode.OK);
        String listing = out.toString(StandardCharsets.UTF_8);
        // qmrestore's parser: 'DEV: dev_id=N size: S devname: NAME' per disk, then 'CTIME: ' ends the listing
        for (String dev : List.of("drive-virtio0", "drive-scsi0", "drive-sata0", "drive-efidisk0")) {
            assertThat(listing).containsPattern("(?m)^DEV: dev_id=\\d+ size: "
                    + header.device(dev).orElseThrow().size() + " devname: " + dev + "$");
        }
        assertThat(listing).containsPattern("(?m)^VMSTATE: dev_id=\\d+ memory: \\d+$")
                .containsPattern("(?m)^CTIME: ").doesNotContain("DEV: dev_id=5 size: 0");
        assertThat(listing.indexOf("CTIME: ")).isLessThan(listing.indexOf("DEVINFO"));
        assertThat(Files.readAllBytes(extracted.resolve("disk-drive-virtio0.raw"))).isEqualTo(v0);
        assertThat(Files.readAllBytes(extracted.resolve("disk-drive-scsi0.raw"))).isEqualTo(s0);
        assertThat(Files.readAllBytes(extracted.resolve("disk-drive-sata0.raw"))).isEqualTo(a0);
        assertThat(Files.readAllBytes(extracted.resolve("disk-drive-efidisk0.raw"))).isEqualTo(vars);

        // the reverse: the vzdump-shaped archive restores into plain images named by drive key
        Path restored = tmp.resolve("restored");
        assertThat(VmaBackupCli.execute("restore", archive.toString(), "--to", restored.toString()))
                .as(err.toString(StandardCharsets.UTF_8)).isEqualTo(ExitCode.OK);
        assertThat(Files.readAllBytes(restored.resolve("drive-scsi0.raw"))).isEqualTo(s0);
        assertThat(Files.readAllBytes(restored.resolve("drive-efidisk0.raw"))).isEqualTo(vars);

        // and into a plain QEMU whose disks are named as Proxmox names them: each device goes to its drive key's disk
        try (QemuProcess target = startVm(new byte[v0.length], new byte[s0.length], new byte[a0.length],
                new byte[vars.length], "-incoming", "defer")) {
            err.reset();
            assertThat(VmaBackupCli.execute("restore", archive.toString(), "--qmp", target.qmpSocket().toString()))
                    .as(err.toString(StandardCharsets.UTF_8)).isEqualTo(ExitCode.OK);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("Restored drive-virtio0 -> ")
                    .contains("Restored drive-efidisk0 -> ");
            assertThat(Files.readAllBytes(target.dir().resolve("v0.raw"))).isEqualTo(v0);
            assertThat(Files.readAllBytes(target.dir().resolve("a0.raw"))).isEqualTo(a0);
            assertThat(Files.readAllBytes(target.dir().resolve("vars.raw"))).isEqualTo(vars);
        }
    }

    @Test
    void aDiskWithoutADriveKeyFailsBeforeAnythingIsWrittenAndTheUsersConfigGetsTheMapLines() throws Exception {
        byte[] d0 = random(1 << 20, 7);
        Path dump = Files.createDirectory(tmp.resolve("dump"));
        Path conf = Files.writeString(tmp.resolve("105.conf"), """
                boot: order=scsi0
                lock: backup
                memory: 512
                scsi0: local-lvm:vm-105-disk-0,size=1M
                scsihw: virtio-scsi-pci

                [before]
                memory: 256
                """);
        try (QemuProcess vm = QemuProcess.system().args("-drive", "if=none,id=hd0,file={dir}/d0.raw,format=raw",
                "-device", "virtio-blk-pci,drive=hd0").start(dir -> Files.write(dir.resolve("d0.raw"), d0))) {
            int code = VmaBackupCli.execute("backup", "--qmp", vm.qmpSocket().toString(), "--proxmox", "" + VMID,
                    "--dump-dir", dump.toString());
            String e = err.toString(StandardCharsets.UTF_8);
            assertThat(code).as(e).isEqualTo(ExitCode.FAILED);
            assertThat(e).hasLineCount(1).contains("disk hd0 has no Proxmox drive key").doesNotContain("Exception");
            try (Stream<Path> s = Files.list(dump)) {
                assertThat(s).as("nothing written").isEmpty();
            }
            try (RawQmp q = RawQmp.connect(vm.qmpSocket())) {
                assertThat(q.execute("{\"execute\": \"query-status\"}")).as("the guest keeps running")
                        .contains("\"running\": true");
            }

            err.reset();
            code = VmaBackupCli.execute("backup", "--qmp", vm.qmpSocket().toString(), "--no-vmstate", "--proxmox",
                    "" + VMID, "--dump-dir", dump.toString(), "--proxmox-conf", conf.toString(), "--drive-key",
                    "hd0=scsi0", "--compress", "gzip");
            assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isEqualTo(ExitCode.OK);
        }
        Path archive;
        try (Stream<Path> s = Files.list(dump)) {
            archive = s.filter(p -> p.getFileName().toString().endsWith(".vma.gz")).findFirst().orElseThrow();
        }
        try (VmaReader r = VmaReader.open(archive)) {
            VmaHeader h = r.header();
            assertThat(ProxmoxRestoreCheck.problems(h)).isEmpty();
            assertThat(h.devices()).extracting(d -> d.name()).containsExactly("drive-scsi0");
            assertThat(new String(h.config(ProxmoxConfig.BLOB_NAME).orElseThrow().data(), StandardCharsets.UTF_8))
                    .isEqualTo("""
                            boot: order=scsi0
                            memory: 512
                            scsi0: local-lvm:vm-105-disk-0,size=1M
                            scsihw: virtio-scsi-pci

                            #qmdump#map:scsi0:drive-scsi0:local-lvm:raw:
                            """);
        }
    }
}
