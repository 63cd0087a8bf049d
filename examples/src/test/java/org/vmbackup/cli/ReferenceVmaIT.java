package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.vma.VmaWriter;

/**
 * Our archives read by Proxmox's own reference {@code vma} tool, and its archives read by us. The tool is a measuring
 * instrument, not part of the project: {@code PVE_VMA} names an already-built binary (see
 * vma-format/REFERENCE-CHECK.md); without it every test here is skipped, saying so. The live-VM variants (backup,
 * --proxmox, a store backup's exports) are in vma-format/reference-check.sh.
 */
class ReferenceVmaIT {
    private static final String PVE_VMA = System.getenv("PVE_VMA");
    /** No multiple of VMA's 64 KiB cluster, nor of 4 KiB: the last cluster's tail is what a codec gets wrong. */
    private static final int ODD_SIZE = (1 << 20) + 4608;

    @RegisterExtension
    final StdCapture std = new StdCapture();

    @TempDir
    Path tmp;

    byte[] disk0;
    byte[] disk1;
    byte[] vmstate;
    byte[] conf = "name: refcheck\nmemory: 64\n".getBytes(StandardCharsets.UTF_8);

    @BeforeEach
    void needsTheReferenceTool() {
        Assumptions.assumeTrue(PVE_VMA != null && !PVE_VMA.isEmpty(),
                "PVE_VMA is not set: the reference vma tool's checks did not run (set PVE_VMA=/path/to/vma)");
        assertThat(Path.of(PVE_VMA)).as("PVE_VMA").isExecutable();
        disk0 = image(ODD_SIZE, 1);
        disk1 = image(5 * 65536, 2);
        vmstate = image(3 * 65536 + 1000, 3); // with zero 4 KiB blocks inside the stream, as QEMU's has
    }

    /** 64 KiB runs: every third a hole, one in seven allocated zeros, random data else; the last 4 KiB non-zero. */
    private static byte[] image(int size, long seed) {
        byte[] b = new byte[size];
        Random r = new Random(seed);
        for (int off = 0, i = 0; off < size; off += 65536, i++) {
            if (i % 3 != 2 && i % 7 != 3) {
                byte[] run = new byte[Math.min(65536, size - off)];
                r.nextBytes(run);
                System.arraycopy(run, 0, b, off, run.length);
            }
            // a zero block in every run
            Arrays.fill(b, Math.min(size, off + 4096), Math.min(size, off + 8192), (byte) 0);
        }
        Arrays.fill(b, Math.max(0, size - 4096), size, (byte) 0xa5);
        return b;
    }

    private Path ourArchive() throws IOException {
        Path a = tmp.resolve("ours.vma");
        try (VmaWriter w = VmaWriter.builder().config("qemu-server.conf", conf).disk("drive-scsi0", disk0.length)
                .disk("drive-scsi1", disk1.length).vmstate(vmstate.length).open(a)) {
            w.write(w.device("drive-scsi0"), 0, ByteBuffer.wrap(disk0));
            w.write(w.device("drive-scsi1"), 0, ByteBuffer.wrap(disk1));
            WritableByteChannel ch = w.vmstateChannel();
            ch.write(ByteBuffer.wrap(vmstate));
        }
        return a;
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s finished", List.of(cmd)).isTrue();
        assertThat(p.exitValue()).as("%s:\n%s", List.of(cmd), out).isZero();
        return out;
    }

    private int cli(String... args) {
        std.out.reset();
        std.err.reset();
        return VmaBackupCli.execute(args);
    }

    private String cliOutput() {
        return std.out.toString(StandardCharsets.UTF_8) + std.err.toString(StandardCharsets.UTF_8);
    }

    /** The reference tool verifies, lists, and extracts the archive to exactly our images, vmstate included. */
    private void referenceReads(Path archive, boolean withVmstate) throws Exception {
        Path plain = archive;
        String name = archive.getFileName().toString();
        Path dir = tmp.resolve("ref-" + name);
        if (name.endsWith(".zst")) {
            plain = tmp.resolve(name + ".plain");
            run("sh", "-c", "zstd -q -d -c \"$1\" > \"$2\"", "sh", archive.toString(), plain.toString());
            // as vzdump's restore feeds it: decompressed on the reference tool's stdin
            run("sh", "-c", "zstd -q -d -c \"$1\" | \"$2\" extract -v - \"$3\"", "sh", archive.toString(), PVE_VMA,
                    dir.toString());
        } else {
            run(PVE_VMA, "extract", "-v", archive.toString(), dir.toString());
        }
        assertThat(run(PVE_VMA, "verify", "-v", plain.toString())).contains("DEV: dev_id=1 size: " + ODD_SIZE);
        assertThat(run(PVE_VMA, "list", plain.toString())).as(name)
                .contains("DEV: dev_id=1 size: " + ODD_SIZE + " devname: drive-scsi0")
                .contains("DEV: dev_id=2 size: " + disk1.length + " devname: drive-scsi1");
        assertThat(run(PVE_VMA, "config", plain.toString())).as(name)
                .isEqualTo(new String(conf, StandardCharsets.UTF_8));
        assertThat(Files.readAllBytes(dir.resolve("disk-drive-scsi0.raw"))).as(name).isEqualTo(disk0);
        assertThat(Files.readAllBytes(dir.resolve("disk-drive-scsi1.raw"))).as(name).isEqualTo(disk1);
        if (withVmstate) {
            byte[] got = Files.readAllBytes(dir.resolve("vmstate.bin"));
            assertThat(got.length).as(name).isEqualTo(4 * 65536); // the stream, its last cluster zero-padded
            assertThat(Arrays.copyOf(got, vmstate.length)).as(name + ": the reference tool's vmstate.bin")
                    .isEqualTo(vmstate);
            assertThat(Arrays.copyOfRange(got, vmstate.length, got.length)).containsOnly(0);
        }
    }

    private String storeImport(Path store, Path archive, String vm) {
        assertThat(cli("store", "import", store.toString(), archive.toString(), "--vm", vm)).as(cliOutput())
                .isEqualTo(ExitCode.OK);
        return std.out.toString(StandardCharsets.UTF_8).trim();
    }

    @Test
    void ourArchiveAndItsStoreExportsAreReadExactlyByTheReferenceTool() throws Exception {
        Path ours = ourArchive();
        referenceReads(ours, true);
        Path store = tmp.resolve("store");
        assertThat(cli("store", "init", store.toString())).as(cliOutput()).isEqualTo(ExitCode.OK);
        String id = storeImport(store, ours, "vm1");
        for (String out : new String[] {"export.vma", "export.vma.zst"}) {
            Path exported = tmp.resolve(out);
            assertThat(cli("store", "export", store.toString(), id, exported.toString())).as(cliOutput())
                    .isEqualTo(ExitCode.OK);
            referenceReads(exported, true);
        }
        // store export --proxmox needs a backup's vm.json: reference-check.sh checks it on a live VM's snapshot
    }

    @Test
    void theReferenceToolsArchiveIsReadExactlyByUsAndExportsBackToIt() throws Exception {
        Path d0 = Files.write(tmp.resolve("d0.raw"), disk0);
        Path d1 = Files.write(tmp.resolve("d1.raw"), disk1);
        Path confFile = Files.write(tmp.resolve("qemu-server.conf"), conf);
        Path ref = tmp.resolve("reference.vma");
        run(PVE_VMA, "create", ref.toString(), "-c", confFile.toString(), "-d", "format=raw:drive-scsi0=" + d0,
                "-d", "format=raw:drive-scsi1=" + d1);
        assertThat(cli("vma", "verify", ref.toString())).as(cliOutput()).isEqualTo(ExitCode.OK);
        Path x = tmp.resolve("x");
        assertThat(cli("vma", "extract", ref.toString(), x.toString())).as(cliOutput()).isEqualTo(ExitCode.OK);
        assertThat(Files.readAllBytes(x.resolve("disk-drive-scsi0.raw"))).isEqualTo(disk0);
        assertThat(Files.readAllBytes(x.resolve("disk-drive-scsi1.raw"))).isEqualTo(disk1);
        assertThat(Files.readAllBytes(x.resolve("qemu-server.conf"))).isEqualTo(conf);
        Path store = tmp.resolve("store");
        assertThat(cli("store", "init", store.toString())).as(cliOutput()).isEqualTo(ExitCode.OK);
        String id = storeImport(store, ref, "ref");
        Path exported = tmp.resolve("ref-export.vma");
        assertThat(cli("store", "export", store.toString(), id, exported.toString())).as(cliOutput())
                .isEqualTo(ExitCode.OK);
        referenceReads(exported, false);
    }
}
