package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;
import org.vmbackup.vma.VmaWriter;

/**
 * The VM of the restore ITs: two virtio disks {@code hd0}/{@code hd1} of known content (random with zero holes) and
 * a RAM pattern at 0x10000000 loaded with {@code -device loader}. {@link #backup} makes a VMA archive of it with the
 * backup side's {@link BackupSession}; {@link #backupWithRawQmp} without it.
 */
final class RestoreTestVm {
    static final int DISK0 = 4 << 20;
    static final int DISK1 = 6 << 20;
    static final long PATTERN_ADDR = 0x10000000L;
    static final int PATTERN_SIZE = 1 << 20;
    static final int MEMORY_MIB = 512;

    final byte[] d0;
    final byte[] d1;
    final byte[] pattern;

    RestoreTestVm(long seed) {
        Random rnd = new Random(seed);
        d0 = new byte[DISK0];
        d1 = new byte[DISK1];
        pattern = new byte[PATTERN_SIZE];
        rnd.nextBytes(d0);
        rnd.nextBytes(d1);
        rnd.nextBytes(pattern);
        Arrays.fill(d0, 1 << 20, 3 << 20, (byte) 0); // holes the archive stores as zero blocks
        Arrays.fill(d1, 0, 1 << 20, (byte) 0);
        Arrays.fill(d0, 3 << 20, (3 << 20) + 65536, (byte) 0x5a); // patterns the guest-side reads can check
        Arrays.fill(d1, 5 << 20, (5 << 20) + 65536, (byte) 0xa5);
    }

    /** QEMU args for the two disks as raw files {@code {dir}/<prefix>0.raw}, {@code <prefix>1.raw} + the loader. */
    static String[] args(String prefix, String patternFile, String... more) {
        String[] base = {
            "-drive", "if=none,id=hd0,file={dir}/" + prefix + "0.raw,format=raw",
            "-device", "virtio-blk-pci,drive=hd0,id=vd0",
            "-drive", "if=none,id=hd1,file={dir}/" + prefix + "1.raw,format=raw",
            "-device", "virtio-blk-pci,drive=hd1,id=vd1",
            "-device", "loader,file={dir}/" + patternFile + ",addr=0x10000000,force-raw=on"};
        String[] all = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    /** Starts the source VM with the known disks and pattern. */
    QemuProcess startSource() throws IOException {
        return QemuProcess.system().memoryMiB(MEMORY_MIB).args(args("d", "pattern.bin")).start(dir -> {
            Files.write(dir.resolve("d0.raw"), d0);
            Files.write(dir.resolve("d1.raw"), d1);
            Files.write(dir.resolve("pattern.bin"), pattern);
        });
    }

    /** Backs the running source VM up into {@code archive} (disks and RAM at one instant) with the backup side. */
    static void backup(QemuProcess vm, Path archive) throws Exception {
        BackupResult r = BackupSession.builder().qmpSocket(vm.qmpSocket()).target(archive).build().start()
                .get(120, TimeUnit.SECONDS);
        assertThat(r.disks()).hasSize(2);
        try (org.vmbackup.vma.VmaReader reader = org.vmbackup.vma.VmaReader.open(archive)) {
            assertThat(reader.header().devices()).extracting(org.vmbackup.vma.VmaDevice::name)
                    .contains("drive-hd0", "drive-hd1", "vmstate");
        }
    }

    /**
     * The same backup with raw QMP (stop, blockdev-backup transaction to local files, background-snapshot migrate to
     * a socket) and the public VmaWriter: nothing of the backup session in the data path.
     */
    static void backupWithRawQmp(QemuProcess vm, Path archive) throws Exception {
        Path mig = vm.dir().resolve("mig.sock");
        try (RawQmp qmp = RawQmp.connect(vm.qmpSocket());
                ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(mig));
            CompletableFuture<byte[]> stream = CompletableFuture.supplyAsync(() -> receive(server));
            int[] sizes = {DISK0, DISK1};
            for (int i = 0; i < 2; i++) {
                Path t = vm.dir().resolve("bk" + i + ".raw");
                try (var f = new java.io.RandomAccessFile(t.toFile(), "rw")) {
                    f.setLength(sizes[i]);
                }
                ok(qmp.execute("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"raw\",\"node-name\":\"bk" + i
                        + "\",\"file\":{\"driver\":\"file\",\"filename\":\"" + t + "\"}}}"));
            }
            ok(qmp.execute("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":["
                    + "{\"capability\":\"background-snapshot\",\"state\":true},"
                    + "{\"capability\":\"events\",\"state\":true}]}}"));
            ok(qmp.execute("{\"execute\":\"stop\"}"));
            ok(qmp.execute("{\"execute\":\"transaction\",\"arguments\":{\"actions\":[" + job(0) + "," + job(1)
                    + "],\"properties\":{\"completion-mode\":\"grouped\"}}}"));
            ok(qmp.execute("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:" + mig + "\"}}"));
            qmp.awaitLine("\"concluded\"");
            qmp.awaitLine("\"concluded\"");
            qmp.awaitLine("\"completed\"");
            // 7.2 resumes the guest after the snapshot's setup by itself, >= 9.0 restores the state it found
            if (!qmp.execute("{\"execute\":\"query-status\"}").contains("\"running\": true")) {
                ok(qmp.execute("{\"execute\":\"cont\"}"));
            }
            for (int i = 0; i < 2; i++) {
                ok(qmp.execute("{\"execute\":\"job-dismiss\",\"arguments\":{\"id\":\"bk" + i + "\"}}"));
                ok(qmp.execute("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"bk" + i + "\"}}"));
            }
            byte[] vmstate = stream.get(60, TimeUnit.SECONDS);
            assertThat(new String(vmstate, 0, 4, java.nio.charset.StandardCharsets.ISO_8859_1)).isEqualTo("QEVM");
            try (VmaWriter w = VmaWriter.builder().config("qemu-server.conf", "memory: 512\n".getBytes())
                    .disk("drive-hd0", DISK0).disk("drive-hd1", DISK1).vmstate(vmstate.length).open(archive)) {
                for (int i = 0; i < 2; i++) {
                    byte[] img = Files.readAllBytes(vm.dir().resolve("bk" + i + ".raw"));
                    w.write(w.device("drive-hd" + i), 0, ByteBuffer.wrap(img));
                }
                ByteBuffer b = ByteBuffer.wrap(vmstate);
                var ch = w.vmstateChannel();
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.close();
            }
        }
    }

    /** Starts a target QEMU waiting for an incoming migration, with blank disks of the given sizes. */
    static QemuProcess startTarget(long size0, long size1, String... more) throws IOException {
        return QemuProcess.system().memoryMiB(MEMORY_MIB).args(args("t", "blank.bin", concat(more, "-incoming",
                "defer"))).start(dir -> {
                    try (var f = new java.io.RandomAccessFile(dir.resolve("t0.raw").toFile(), "rw")) {
                        f.setLength(size0);
                    }
                    try (var f = new java.io.RandomAccessFile(dir.resolve("t1.raw").toFile(), "rw")) {
                        f.setLength(size1);
                    }
                    Files.write(dir.resolve("blank.bin"), new byte[PATTERN_SIZE]);
                });
    }

    /** As {@link #startTarget} with blank qcow2 disks {@code t0.qcow2}, {@code t1.qcow2} of the source's sizes. */
    static QemuProcess startQcow2Target() throws IOException {
        String[] a = {
            "-drive", "if=none,id=hd0,file={dir}/t0.qcow2,format=qcow2",
            "-device", "virtio-blk-pci,drive=hd0,id=vd0",
            "-drive", "if=none,id=hd1,file={dir}/t1.qcow2,format=qcow2",
            "-device", "virtio-blk-pci,drive=hd1,id=vd1",
            "-device", "loader,file={dir}/blank.bin,addr=0x10000000,force-raw=on", "-incoming", "defer"};
        return QemuProcess.system().memoryMiB(MEMORY_MIB).args(a).start(dir -> {
            for (int i = 0; i < 2; i++) {
                try {
                    org.vmbackup.testkit.ProcessRunner.command(
                            org.vmbackup.testkit.RequiredTool.QEMU_IMG.path().toString(), "create", "-q", "-f",
                            "qcow2", dir.resolve("t" + i + ".qcow2").toString(),
                            Integer.toString(i == 0 ? DISK0 : DISK1)).run().requireSuccess();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            Files.write(dir.resolve("blank.bin"), new byte[PATTERN_SIZE]);
        });
    }

    /**
     * Starts the QEMU of a live restore on {@code plan}'s images, waiting for the VM state, with a second QMP monitor
     * at {@code {dir}/test.sock} for the test's own commands.
     */
    static QemuProcess startLiveTarget(LiveRestorePlan plan) throws IOException {
        List<String> args = new ArrayList<>(plan.driveArgs());
        args.addAll(List.of("-device", "virtio-blk-pci,drive=hd0,id=vd0",
                "-device", "virtio-blk-pci,drive=hd1,id=vd1",
                "-device", "loader,file={dir}/blank.bin,addr=0x10000000,force-raw=on",
                "-qmp", "unix:{dir}/test.sock,server=on,wait=off", "-incoming", "defer"));
        return QemuProcess.system().memoryMiB(MEMORY_MIB).args(args.toArray(String[]::new))
                .start(dir -> Files.write(dir.resolve("blank.bin"), new byte[PATTERN_SIZE]));
    }

    /** {@code pmemsave} of the pattern region of a running VM. */
    static byte[] pmemsave(RawQmp qmp, Path dir) throws IOException {
        Path out = dir.resolve("pmem.bin");
        ok(qmp.execute("{\"execute\":\"pmemsave\",\"arguments\":{\"val\":" + PATTERN_ADDR + ",\"size\":" + PATTERN_SIZE
                + ",\"filename\":\"" + out + "\"}}"));
        return Files.readAllBytes(out);
    }

    static String hmp(String command) {
        return "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"" + command.replace("\"", "\\\"")
                + "\"}}";
    }

    static String ok(String reply) {
        assertThat(reply).contains("\"return\"");
        return reply;
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static String job(int i) {
        return "{\"type\":\"blockdev-backup\",\"data\":{\"job-id\":\"bk" + i + "\",\"device\":\"hd" + i
                + "\",\"target\":\"bk" + i + "\",\"sync\":\"full\",\"auto-finalize\":true,\"auto-dismiss\":false}}";
    }

    private static byte[] receive(ServerSocketChannel server) {
        try (SocketChannel c = server.accept()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            while (c.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
