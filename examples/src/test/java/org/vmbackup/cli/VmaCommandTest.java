package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.vma.VmaWriter;

class VmaCommandTest {
    @TempDir
    Path dir;
    @RegisterExtension
    final StdCapture std = new StdCapture();
    private final ByteArrayOutputStream out = std.out;
    private final ByteArrayOutputStream err = std.err;

    private String stdout() {
        String s = out.toString(StandardCharsets.UTF_8);
        out.reset();
        return s;
    }

    private static byte[] image(int size, long seed) {
        byte[] b = new byte[size];
        Random r = new Random(seed);
        for (int i = 0; i < size / 3; i++) {
            b[r.nextInt(size)] = (byte) (1 + r.nextInt(255));
        }
        return b;
    }

    @Test
    void createListVerifyConfigExtractRoundTrip() throws Exception {
        byte[] a = image(1_589_248, 1);
        byte[] b = image(540_672, 2);
        Files.write(dir.resolve("a.raw"), a);
        Files.write(dir.resolve("b.raw"), b);
        Files.writeString(dir.resolve("qemu-server.conf"), "name: test\n");
        for (String name : new String[] {"x.vma", "x.vma.zst"}) {
            Path archive = dir.resolve(name);
            assertThat(VmaBackupCli.execute("vma", "create", archive.toString(), "-c",
                    dir.resolve("qemu-server.conf").toString(), "-d", "format=raw:drive-scsi0=" + dir.resolve("a.raw"),
                    "-d", "drive-efidisk0=" + dir.resolve("b.raw"))).as(err.toString()).isEqualTo(ExitCode.OK);

            assertThat(VmaBackupCli.execute("vma", "list", archive.toString())).isEqualTo(ExitCode.OK);
            assertThat(stdout()).startsWith("CFG: size: 11 name: qemu-server.conf\n"
                    + "DEV: dev_id=1 size: 1589248 devname: drive-scsi0\n"
                    + "DEV: dev_id=2 size: 540672 devname: drive-efidisk0\nCTIME: ");

            assertThat(VmaBackupCli.execute("vma", "verify", archive.toString())).isEqualTo(ExitCode.OK);
            assertThat(VmaBackupCli.execute("vma", "config", archive.toString())).isEqualTo(ExitCode.OK);
            assertThat(stdout()).isEqualTo("name: test\n");

            Path target = dir.resolve("out-" + name);
            assertThat(VmaBackupCli.execute("vma", "extract", archive.toString(), target.toString(), "-v"))
                    .isEqualTo(ExitCode.OK);
            assertThat(stdout()).contains("DEVINFO " + target.resolve("tmp-disk-drive-scsi0.raw") + " 1589248");
            assertThat(Files.readAllBytes(target.resolve("disk-drive-scsi0.raw"))).isEqualTo(a);
            assertThat(Files.readAllBytes(target.resolve("disk-drive-efidisk0.raw"))).isEqualTo(b);
            assertThat(Files.readString(target.resolve("qemu-server.conf"))).isEqualTo("name: test\n");
        }
    }

    @Test
    void extractReadsACompressedArchiveFromStdin() throws Exception {
        byte[] a = image(300_000, 9);
        Files.write(dir.resolve("a.raw"), a);
        Path archive = dir.resolve("s.vma.gz");
        assertThat(VmaBackupCli.execute("vma", "create", archive.toString(), "drive-sata0=" + dir.resolve("a.raw")))
                .isEqualTo(ExitCode.OK);
        java.io.InputStream oldIn = System.in;
        try (java.io.InputStream in = Files.newInputStream(archive)) {
            System.setIn(in);
            Path target = dir.resolve("stdin-out");
            assertThat(VmaBackupCli.execute("vma", "extract", "-", target.toString())).isEqualTo(ExitCode.OK);
            // sizes are rounded up to whole sectors like the reference tool
            byte[] got = Files.readAllBytes(target.resolve("disk-drive-sata0.raw"));
            assertThat(got).hasSize(300_032);
            assertThat(java.util.Arrays.copyOf(got, a.length)).isEqualTo(a);
        } finally {
            System.setIn(oldIn);
        }
    }

    @Test
    void existingTargetDirectoryOrArchiveIsAClearError() throws Exception {
        Files.write(dir.resolve("a.raw"), new byte[4096]);
        Path archive = dir.resolve("e.vma");
        assertThat(VmaBackupCli.execute("vma", "create", archive.toString(), dir.resolve("a.raw").toString()))
                .isEqualTo(ExitCode.OK);
        assertThat(VmaBackupCli.execute("vma", "create", archive.toString(), dir.resolve("a.raw").toString()))
                .isEqualTo(ExitCode.FAILED);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("cannot create archive " + archive + ": it already exists");
        assertThat(VmaBackupCli.execute("vma", "extract", archive.toString(), dir.toString()))
                .isEqualTo(ExitCode.FAILED);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("cannot create target directory " + dir + ": it already exists");
    }

    @Test
    void missingConfigIsAOneLineError() throws Exception {
        Files.write(dir.resolve("a.raw"), new byte[4096]);
        Path archive = dir.resolve("y.vma");
        assertThat(VmaBackupCli.execute("vma", "create", archive.toString(), dir.resolve("a.raw").toString()))
                .isEqualTo(ExitCode.OK);
        assertThat(VmaBackupCli.execute("vma", "config", archive.toString(), "-c", "nope")).isEqualTo(ExitCode.FAILED);
        assertThat(err.toString(StandardCharsets.UTF_8).strip())
                .isEqualTo("vma config: unable to find configuration data 'nope'");
    }

    @Test
    void extractRefusesAConfigNameThatEscapesTheTargetDirectory() throws Exception {
        Path archive = dir.resolve("evil.vma");
        try (VmaWriter w = VmaWriter.builder().config("../../x", new byte[] {1}).disk("d", 4096).open(archive)) {
            w.write(w.device("d"), 0, ByteBuffer.allocate(4096));
        }
        Path target = dir.resolve("p").resolve("q").resolve("t");
        Files.createDirectories(target.getParent());
        assertThat(VmaBackupCli.execute("vma", "extract", archive.toString(), target.toString()))
                .isEqualTo(ExitCode.FAILED);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("refusing").contains("../../x");
        assertThat(dir.resolve("p").resolve("x")).doesNotExist();
        assertThat(target).doesNotExist();
    }

    @Test
    void corruptArchiveFailsVerifyWithTheOffset() throws Exception {
        Files.write(dir.resolve("a.raw"), image(200_000, 3));
        Path archive = dir.resolve("z.vma");
        assertThat(VmaBackupCli.execute("vma", "create", archive.toString(), "d=" + dir.resolve("a.raw")))
                .isEqualTo(ExitCode.OK);
        byte[] bytes = Files.readAllBytes(archive);
        Files.write(archive, java.util.Arrays.copyOf(bytes, bytes.length - 4096));
        assertThat(VmaBackupCli.execute("vma", "verify", archive.toString())).isEqualTo(ExitCode.FAILED);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("offset").contains("truncated");
    }
}
