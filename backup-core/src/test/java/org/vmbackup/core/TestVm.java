package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/**
 * A throwaway VM for backup ITs: disks {@code hd0..hdN} of seeded random content attached with named
 * BlockBackends (so HMP qemu-io can write to them as the guest would), a RAM pattern loaded at 64 MiB,
 * and a second QMP monitor for the test's own checks.
 */
final class TestVm implements AutoCloseable {
    static final long PATTERN_ADDR = 0x04000000L; // 64 MiB: inside RAM of every test VM

    final QemuProcess qemu;
    final List<byte[]> disks;
    final byte[] ram;
    private RawQmp check;

    private TestVm(QemuProcess qemu, List<byte[]> disks, byte[] ram) {
        this.qemu = qemu;
        this.disks = disks;
        this.ram = ram;
    }

    /** Starts a VM with disks of these sizes (content seeded by {@code seed}; half of each disk zero). */
    static TestVm start(long seed, int memoryMiB, int... diskSizes) throws IOException {
        Random rnd = new Random(seed);
        List<byte[]> disks = new ArrayList<>();
        List<String> args = new ArrayList<>();
        for (int i = 0; i < diskSizes.length; i++) {
            byte[] d = new byte[diskSizes[i]];
            rnd.nextBytes(d);
            // a zero second quarter, so zero ranges are exercised
            java.util.Arrays.fill(d, d.length / 4, d.length / 2, (byte) 0);
            disks.add(d);
            args.addAll(List.of("-drive", "if=none,id=hd" + i + ",file={dir}/d" + i + ".raw,format=raw",
                    "-device", "virtio-blk-pci,drive=hd" + i));
        }
        byte[] ram = new byte[1 << 20];
        rnd.nextBytes(ram);
        args.addAll(List.of("-device", "loader,file={dir}/ram.bin,addr=0x04000000,force-raw=on",
                "-qmp", "unix:{dir}/check.sock,server=on,wait=off"));
        QemuProcess q = QemuProcess.system().memoryMiB(memoryMiB).args(args.toArray(String[]::new)).start(dir -> {
            for (int i = 0; i < disks.size(); i++) {
                writeSparse(dir.resolve("d" + i + ".raw"), disks.get(i));
            }
            Files.write(dir.resolve("ram.bin"), ram);
        });
        return new TestVm(q, disks, ram);
    }

    /**
     * Starts a VM with one disk {@code hd0} of {@code size} bytes that is a hole except for {@code dataLength}
     * seeded random bytes at {@code dataOffset}: the hole costs an archive nothing, and data far into the disk
     * lies beyond what a backup job sends in its first burst.
     */
    static TestVm startSparse(long seed, int memoryMiB, long size, long dataOffset, int dataLength)
            throws IOException {
        byte[] data = new byte[dataLength];
        new Random(seed).nextBytes(data);
        QemuProcess q = QemuProcess.system().memoryMiB(memoryMiB).args("-drive",
                "if=none,id=hd0,file={dir}/d0.raw,format=raw", "-device", "virtio-blk-pci,drive=hd0",
                "-qmp", "unix:{dir}/check.sock,server=on,wait=off").start(dir -> {
                    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(dir.resolve("d0.raw").toFile(),
                            "rw")) {
                        f.setLength(size); // sparse: a hole
                        f.seek(dataOffset);
                        f.write(data);
                    }
                });
        return new TestVm(q, List.of(), new byte[0]);
    }

    /** Writes the image leaving its zero second quarter a hole, so QEMU reports it as zero. */
    private static void writeSparse(Path file, byte[] d) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(d, 0, d.length / 4), 0);
            ch.write(java.nio.ByteBuffer.wrap(d, d.length / 2, d.length - d.length / 2), d.length / 2);
        }
    }

    Path qmpSocket() {
        return qemu.qmpSocket();
    }

    /** The test's own monitor (the session uses the main one). */
    synchronized RawQmp check() throws IOException {
        if (check == null) {
            Path s = qemu.dir().resolve("check.sock");
            // QEMU binds the socket (the file appears) a moment before it listens: refused until then
            for (int i = 0; check == null; i++) {
                try {
                    if (Files.exists(s)) {
                        check = RawQmp.connect(s);
                    }
                } catch (java.net.ConnectException e) {
                    if (i >= 200) {
                        throw e;
                    }
                }
                if (check == null && i >= 200) {
                    throw new IOException("QEMU's check monitor " + s + " did not appear within 2 s");
                }
                if (check == null) {
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                }
            }
        }
        return check;
    }

    /** A guest-side write of {@code 0x5a} bytes through disk {@code i}'s BlockBackend. */
    void guestWrite(int disk, long offset, int length) throws IOException {
        String reply = check().execute("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
                + "\"qemu-io hd" + disk + " \\\"write -P 0x5a " + offset + " " + length + "\\\"\"}}");
        assertThat(reply).contains("\"return\"").doesNotContain("error");
    }

    /** The disk image file as it is now. */
    byte[] liveDisk(int i) throws IOException {
        return Files.readAllBytes(qemu.dir().resolve("d" + i + ".raw"));
    }

    /**
     * Asserts QEMU is left as before the backup: running, no job, no node, export, migration or capability of a
     * session.
     */
    void assertClean() throws IOException {
        RawQmp c = check();
        assertThat(c.execute("{\"execute\":\"query-status\"}")).contains("\"running\": true");
        assertThat(c.execute("{\"execute\":\"query-migrate\"}")).as("no migration under way")
                .doesNotContain("\"setup\"").doesNotContain("\"active\"").doesNotContain("\"cancelling\"");
        assertThat(c.execute("{\"execute\":\"query-block-exports\"}")).isEqualTo("{\"return\": []}");
        assertThat(c.execute("{\"execute\":\"query-jobs\"}")).isEqualTo("{\"return\": []}");
        assertThat(c.execute("{\"execute\":\"query-named-block-nodes\",\"arguments\":{\"flat\":true}}"))
                .doesNotContain("vmbk-");
        String caps = c.execute("{\"execute\":\"query-migrate-capabilities\"}");
        assertThat(caps).contains("{\"state\": false, \"capability\": \"background-snapshot\"}")
                .contains("{\"state\": false, \"capability\": \"events\"}");
        assertThat(c.execute("{\"execute\":\"query-block-jobs\"}")).isEqualTo("{\"return\": []}");
    }

    @Override
    public void close() throws IOException {
        if (check != null) {
            try {
                check.close();
            } catch (IOException e) {
                // QEMU may be dead already
            }
        }
        qemu.close();
    }
}
