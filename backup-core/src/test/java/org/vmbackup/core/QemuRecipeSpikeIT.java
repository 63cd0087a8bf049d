package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;
import org.vmbackup.testkit.RequiredTool;

/**
 * The backup recipe of qemu-backup-orchestration.md section 6 against the real QEMU, with nothing of ours in the
 * data path: {@code nbdkit memory} is the NBD target and a plain unix socket receives the migration stream.
 * It pins the event sequence the session relies on and proves point-in-time disks with the raw commands.
 */
class QemuRecipeSpikeIT {
    private static final Logger log = LoggerFactory.getLogger(QemuRecipeSpikeIT.class);
    private static final int DISK0 = 4 << 20;
    private static final int DISK1 = 6 << 20;

    @Test
    void stopTransactionBackgroundSnapshotGivesPointInTimeDisksAndRam() throws Exception {
        Random rnd = new Random(42);
        byte[] d0 = new byte[DISK0];
        byte[] d1 = new byte[DISK1];
        byte[] ram = new byte[1 << 20];
        rnd.nextBytes(d0);
        rnd.nextBytes(d1);
        rnd.nextBytes(ram);
        QemuProcess.Builder b = QemuProcess.system().memoryMiB(256).args(
                "-drive", "if=none,id=hd0,file={dir}/d0.raw,format=raw",
                "-device", "virtio-blk-pci,drive=hd0",
                "-drive", "if=none,id=hd1,file={dir}/d1.raw,format=raw",
                "-device", "virtio-blk-pci,drive=hd1",
                "-device", "loader,file={dir}/ram.bin,addr=0x10000000,force-raw=on");
        try (QemuProcess vm = b.start(dir -> {
            Files.write(dir.resolve("d0.raw"), d0);
            Files.write(dir.resolve("d1.raw"), d1);
            Files.write(dir.resolve("ram.bin"), ram);
        })) {
            Path nbd0 = vm.dir().resolve("nbd0.sock");
            Path nbd1 = vm.dir().resolve("nbd1.sock");
            Path mig = vm.dir().resolve("mig.sock");
            List<Process> kits = new ArrayList<>();
            try (RawQmp qmp = RawQmp.connect(vm.qmpSocket());
                    ServerSocketChannel migServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                kits.add(nbdkit(nbd0, DISK0));
                kits.add(nbdkit(nbd1, DISK1));
                waitFor(nbd0);
                waitFor(nbd1);
                migServer.bind(UnixDomainSocketAddress.of(mig));
                CompletableFuture<byte[]> stream = CompletableFuture.supplyAsync(() -> receive(migServer));

                log("query-block", qmp.execute("{\"execute\":\"query-block\"}"));
                log("caps", qmp.execute("{\"execute\":\"query-migrate-capabilities\"}"));
                log("setcaps", qmp.execute("{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
                        + "{\"capabilities\":[{\"capability\":\"background-snapshot\",\"state\":true},"
                        + "{\"capability\":\"events\",\"state\":true}]}}"));
                for (int i = 0; i < 2; i++) {
                    Path s = i == 0 ? nbd0 : nbd1;
                    String r = qmp.execute("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"nbd\","
                            + "\"node-name\":\"bk" + i + "\",\"server\":{\"type\":\"unix\",\"path\":\"" + s + "\"}}}");
                    assertThat(r).contains("\"return\"");
                }
                log("stop", qmp.execute("{\"execute\":\"stop\"}"));
                String tx = qmp.execute("{\"execute\":\"transaction\",\"arguments\":{\"actions\":["
                        + backup(0) + "," + backup(1) + "],\"properties\":{\"completion-mode\":\"grouped\"}}}");
                log("transaction", tx);
                assertThat(tx).contains("\"return\"");
                log("migrate", qmp.execute("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:" + mig + "\"}}"));
                log("resume", qmp.awaitLine("\"RESUME\""));
                // guest-side writes right after resume: must not reach the backup.
                log("hmp0", qmp.execute(hmp("qemu-io hd0 \\\"write -P 0x5a 0 1M\\\"")));
                log("hmp1", qmp.execute(hmp("qemu-io hd1 \\\"write -P 0x5a 1M 1M\\\"")));
                log("speed0", qmp.execute("{\"execute\":\"block-job-set-speed\",\"arguments\":{\"device\":\"bk0\",\"speed\":0}}"));
                log("speed1", qmp.execute("{\"execute\":\"block-job-set-speed\",\"arguments\":{\"device\":\"bk1\",\"speed\":0}}"));
                int concluded = 0;
                while (concluded < 2) {
                    String line = qmp.awaitLine("\"concluded\"");
                    log("event", line);
                    concluded++;
                }
                log("migration-done", qmp.awaitLine("\"completed\""));
                log("query-jobs", qmp.execute("{\"execute\":\"query-jobs\"}"));
                log("query-migrate", qmp.execute("{\"execute\":\"query-migrate\"}"));
                for (int i = 0; i < 2; i++) {
                    log("dismiss", qmp.execute("{\"execute\":\"job-dismiss\",\"arguments\":{\"id\":\"bk" + i + "\"}}"));
                    log("del", qmp.execute("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"bk" + i + "\"}}"));
                }
                log("caps-off", qmp.execute("{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
                        + "{\"capabilities\":[{\"capability\":\"background-snapshot\",\"state\":false}]}}"));
                log("nodes", qmp.execute("{\"execute\":\"query-named-block-nodes\",\"arguments\":{\"flat\":true}}"));
                log("status", qmp.execute("{\"execute\":\"query-status\"}"));
                for (String e : qmp.events()) {
                    log("leftover-event", e);
                }
                byte[] vmstate = stream.get(60, TimeUnit.SECONDS);
                log.info("vmstate stream {} bytes", vmstate.length);
                assertThat(new String(vmstate, 0, 4, java.nio.charset.StandardCharsets.ISO_8859_1)).isEqualTo("QEVM");
                assertThat(readNbd(nbd0, vm.dir().resolve("out0.raw"))).isEqualTo(d0);
                assertThat(readNbd(nbd1, vm.dir().resolve("out1.raw"))).isEqualTo(d1);
                byte[] live0 = Files.readAllBytes(vm.dir().resolve("d0.raw"));
                assertThat(live0[0]).isEqualTo((byte) 0x5a);
            } finally {
                kits.forEach(Process::destroyForcibly);
            }
        }
    }

    private static String backup(int i) {
        return "{\"type\":\"blockdev-backup\",\"data\":{\"job-id\":\"bk" + i + "\",\"device\":\"hd" + i
                + "\",\"target\":\"bk" + i + "\",\"sync\":\"full\",\"speed\":1,\"auto-finalize\":true,"
                + "\"auto-dismiss\":false}}";
    }

    private static String hmp(String cmd) {
        return "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"" + cmd + "\"}}";
    }

    private static void log(String what, String line) {
        log.info("{}: {}", what, line);
    }

    private static Process nbdkit(Path socket, long size) throws IOException {
        return new ProcessBuilder(RequiredTool.NBDKIT.path().toString(), "--foreground", "--unix", socket.toString(),
                "memory", "size=" + size).redirectErrorStream(true).start();
    }

    private static void waitFor(Path socket) throws InterruptedException {
        for (int i = 0; i < 500 && !Files.exists(socket); i++) {
            Thread.sleep(10);
        }
    }

    private static byte[] readNbd(Path socket, Path out) throws Exception {
        Process p = new ProcessBuilder(RequiredTool.NBDCOPY.path().toString(),
                "nbd+unix:///?socket=" + socket, out.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes())).isZero();
        return Files.readAllBytes(out);
    }

    private static byte[] receive(ServerSocketChannel server) {
        try (SocketChannel ch = server.accept()) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            while (ch.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
