package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RequiredTool;

/**
 * The chunk store from the command line against real QEMU: {@code backup --store} of two VMs with the same disk
 * (the second adds almost nothing), {@code store list}, {@code store verify}, {@code store export} read back by
 * {@code vma verify}, {@code store import}, restores from a snapshot, and a flipped byte in a chunk named by verify
 * and failing the restore with nothing left.
 */
class StoreCommandIT {
    private static final Pattern SNAPSHOT = Pattern.compile("(?m)^snapshot (\\S+/\\S+)$");

    @RegisterExtension
    final StdCapture std = new StdCapture();
    private final ByteArrayOutputStream out = std.out;
    private final ByteArrayOutputStream err = std.err;

    @TempDir
    Path tmp;

    private String stdout() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String all() {
        return stdout() + err.toString(StandardCharsets.UTF_8);
    }

    private static QemuProcess vm(byte[] disk) throws Exception {
        return QemuProcess.system().args("-drive", "if=none,id=hd0,file={dir}/d0.raw,format=raw",
                "-device", "virtio-blk-pci,drive=hd0").start(dir -> Files.write(dir.resolve("d0.raw"), disk));
    }

    private String backUp(QemuProcess vm, Path store, String name) {
        out.reset();
        err.reset();
        int code = VmaBackupCli.execute("backup", "--qmp", vm.qmpSocket().toString(), "--store", store.toString(),
                "--vm", name);
        assertThat(code).as(all()).isEqualTo(ExitCode.OK);
        Matcher m = SNAPSHOT.matcher(stdout());
        assertThat(m.find()).as(stdout()).isTrue();
        assertThat(m.group(1)).startsWith(name + "/");
        return m.group(1);
    }

    private static long bytesNew(String listing, String id) {
        for (String line : listing.split("\n")) {
            if (line.startsWith(id)) {
                String[] f = line.trim().split("\\s+");
                return Long.parseLong(f[f.length - 1]);
            }
        }
        throw new AssertionError("no line for " + id + " in:\n" + listing);
    }

    @Test
    void twoVmsWithTheSameDiskShareTheirChunksAndEverySnapshotRestoresAndExports() throws Exception {
        byte[] disk = new byte[16 << 20];
        Random r = new Random(21);
        for (int i = 0; i < disk.length; i += 1 << 20) {
            if ((i >> 20) % 3 != 2) { // a third of the disk stays a hole
                byte[] mib = new byte[1 << 20];
                r.nextBytes(mib);
                System.arraycopy(mib, 0, disk, i, mib.length);
            }
        }
        Path store = tmp.resolve("store");
        assertThat(VmaBackupCli.execute("store", "init", store.toString())).as(all()).isEqualTo(ExitCode.OK);
        String first;
        String second;
        try (QemuProcess a = vm(disk); QemuProcess b = vm(disk)) {
            first = backUp(a, store, "web1");
            second = backUp(b, store, "web2");
        }
        out.reset();
        assertThat(VmaBackupCli.execute("store", "list", store.toString())).as(all()).isEqualTo(ExitCode.OK);
        String listing = stdout();
        assertThat(listing).contains(first).contains(second);
        long new1 = bytesNew(listing, first);
        long new2 = bytesNew(listing, second);
        assertThat(new1).as(listing).isGreaterThan(8L << 20);
        assertThat(new2).as("the second VM adds < 10 %% of the first's bytes:\n" + listing).isLessThan(new1 / 10);

        out.reset();
        assertThat(VmaBackupCli.execute("store", "verify", store.toString())).as(all()).isEqualTo(ExitCode.OK);
        assertThat(stdout()).contains("ok");

        Path exported = tmp.resolve("web1.vma");
        assertThat(VmaBackupCli.execute("store", "export", store.toString(), first, exported.toString()))
                .as(all()).isEqualTo(ExitCode.OK);
        out.reset();
        assertThat(VmaBackupCli.execute("vma", "verify", "-v", exported.toString())).as(all()).isEqualTo(ExitCode.OK);
        assertThat(stdout()).contains("drive-hd0").contains("VMSTATE").contains("vm.json");
        Path extracted = tmp.resolve("extracted");
        assertThat(VmaBackupCli.execute("vma", "extract", exported.toString(), extracted.toString())).as(all())
                .isEqualTo(ExitCode.OK);
        assertThat(Files.readAllBytes(extracted.resolve("disk-drive-hd0.raw"))).isEqualTo(disk);

        out.reset();
        assertThat(VmaBackupCli.execute("store", "import", store.toString(), exported.toString(), "--vm", "imported"))
                .as(all()).isEqualTo(ExitCode.OK);
        String imported = stdout().trim();
        assertThat(imported).startsWith("imported/");
        out.reset();
        assertThat(VmaBackupCli.execute("store", "list", store.toString(), "--vm", "imported")).isEqualTo(ExitCode.OK);
        assertThat(bytesNew(stdout(), imported)).as("an import of a stored VM adds no disk chunks")
                .isLessThan(1 << 20);

        // the snapshot in vzdump's layout, for qmrestore: named by the snapshot's time, passing Proxmox's rules
        Path dump = Files.createDirectory(tmp.resolve("dump"));
        assertThat(VmaBackupCli.execute("store", "export", store.toString(), first, "--proxmox", "105", "--dump-dir",
                dump.toString(), "--drive-key", "drive-hd0=virtio0")).as(all()).isEqualTo(ExitCode.OK);
        Path vzdump;
        try (Stream<Path> s = Files.list(dump)) {
            vzdump = s.filter(p -> p.getFileName().toString().endsWith(".vma.zst")).findFirst().orElseThrow();
        }
        assertThat(vzdump.getFileName().toString()).matches(
                "vzdump-qemu-105-\\d{4}_\\d\\d_\\d\\d-\\d\\d_\\d\\d_\\d\\d\\.vma\\.zst");
        assertThat(dump.resolve(vzdump.getFileName().toString().replace(".vma.zst", ".log"))).exists();
        out.reset();
        assertThat(VmaBackupCli.execute("vma", "config", vzdump.toString())).as(all()).isEqualTo(ExitCode.OK);
        assertThat(stdout()).contains("#qmdump#map:virtio0:drive-virtio0:");
        Path fromDump = tmp.resolve("from-dump");
        assertThat(VmaBackupCli.execute("vma", "extract", vzdump.toString(), fromDump.toString())).as(all())
                .isEqualTo(ExitCode.OK);
        assertThat(Files.readAllBytes(fromDump.resolve("disk-drive-virtio0.raw"))).isEqualTo(disk);

        // restores straight from the store, raw and qcow2
        Path raw = tmp.resolve("raw");
        assertThat(VmaBackupCli.execute("restore", store.toString(), "--snapshot", first, "--to", raw.toString()))
                .as(all()).isEqualTo(ExitCode.OK);
        assertThat(Files.readAllBytes(raw.resolve("drive-hd0.raw"))).isEqualTo(disk);
        Path qcow2 = tmp.resolve("qcow2");
        assertThat(VmaBackupCli.execute("restore", store.toString(), "--snapshot", second, "--to", qcow2.toString(),
                "--format", "qcow2")).as(all()).isEqualTo(ExitCode.OK);
        assertThat(RestoreCommandIT.RestoreToolRun.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-f",
                "qcow2", "-F", "raw", qcow2.resolve("drive-hd0.qcow2").toString(),
                raw.resolve("drive-hd0.raw").toString())).contains("Images are identical");
        err.reset();
        assertThat(VmaBackupCli.execute("restore", store.toString(), "--snapshot", "web1/2000-01-01T00:00:00Z",
                "--to", tmp.resolve("none").toString())).isEqualTo(ExitCode.FAILED);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("web1/2000-01-01T00:00:00Z");

        // the snapshot over NBD: qemu-img reads exactly the disk, holes are holes
        Path expected = Files.write(tmp.resolve("expected.raw"), disk);
        Path sock = tmp.resolve("snap.sock");
        AtomicInteger exit = new AtomicInteger(-1);
        Thread serve = new Thread(() -> exit.set(VmaBackupCli.execute("nbd", "serve", "--store", store.toString(),
                "--snapshot", first, "--socket", sock.toString(), "--no-warm-up")));
        serve.start();
        try {
            for (int i = 0; i < 500 && !Files.exists(sock); i++) {
                Thread.sleep(20);
            }
            String uri = "nbd+unix:///drive-hd0?socket=" + sock;
            assertThat(RestoreCommandIT.RestoreToolRun.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-f", "raw", "-F", "raw",
                    uri, expected.toString())).contains("Images are identical");
            assertThat(RestoreCommandIT.RestoreToolRun.run(RequiredTool.NBDINFO.path().toString(), "--map", uri))
                    .containsPattern("(?m)^\\s*2097152\\s+1048576\\s+3\\s+hole,zero");
        } finally {
            serve.interrupt();
            serve.join(10_000);
        }
        assertThat(exit.get()).isEqualTo(ExitCode.INTERRUPTED);

        // a flipped byte in one chunk: verify names it, nothing else breaks silently
        Path chunk;
        try (Stream<Path> s = Files.walk(store.resolve("chunks"))) {
            chunk = s.filter(Files::isRegularFile).sorted().findFirst().orElseThrow();
        }
        byte[] c = Files.readAllBytes(chunk);
        c[c.length - 1] ^= 0x40;
        Files.write(chunk, c);
        out.reset();
        err.reset();
        assertThat(VmaBackupCli.execute("store", "verify", store.toString())).isEqualTo(ExitCode.FAILED);
        assertThat(all()).contains(chunk.getFileName().toString().substring(0, 16));
        // every snapshot still referencing it fails naming it and leaves nothing; the others export exact data
        int failed = 0;
        for (String id : new String[] {first, second, imported}) {
            Path vma = tmp.resolve("after-" + id.replace('/', '_').replace(':', '-') + ".vma");
            err.reset();
            int code = VmaBackupCli.execute("store", "export", store.toString(), id, vma.toString());
            if (code == ExitCode.OK) {
                Path x = tmp.resolve("x-" + failed + "-" + vma.getFileName());
                assertThat(VmaBackupCli.execute("vma", "extract", vma.toString(), x.toString())).isEqualTo(ExitCode.OK);
                assertThat(Files.readAllBytes(x.resolve("disk-drive-hd0.raw"))).isEqualTo(disk);
            } else {
                failed++;
                assertThat(code).isEqualTo(ExitCode.FAILED);
                assertThat(err.toString(StandardCharsets.UTF_8)).contains(chunk.getFileName().toString()
                        .substring(0, 16));
                assertThat(vma).doesNotExist();
            }
        }
        assertThat(failed).as("the damaged chunk belongs to some snapshot").isPositive();
    }
}
