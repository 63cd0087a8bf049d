package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.DiskSpec;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotSpec;
import org.vmbackup.store.SnapshotWriter;
import org.vmbackup.store.s3.S3Backend;
import org.vmbackup.store.s3.S3Location;
import org.vmbackup.store.s3.S3Options;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RequiredTool;
import org.vmbackup.testkit.RunningProcess;
import org.vmbackup.testkit.S3ProxyServer;

/**
 * {@code s3://BUCKET/PREFIX} wherever the command line takes a STORE (the real jar, endpoint and credentials in
 * the standard AWS environment variables, S3Proxy as the server): init, list, verify, restore bit-exact, prune,
 * gc; a live backup of a real QEMU into S3 (with the progress lines of a backup into a directory store) restored
 * bit-exact (with a restore's progress lines) and served over NBD from S3; a missing bucket and wrong credentials
 * are one line each.
 */
class StoreS3IT {
    private static final Path JAR = Path.of("target/vmabackup.jar").toAbsolutePath();
    private static final SnapshotId ID = new SnapshotId("web1", Instant.parse("2026-12-07T01:00:00Z"));
    @TempDir
    static Path tmp;
    private static S3ProxyServer server;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(tmp, "cli");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static ProcessResult cliWithSecret(String secret, String... args) throws Exception {
        return runner(secret, args).run();
    }

    /** The real jar with the AWS environment pointing at the test server (and no profile files of the machine). */
    private static ProcessRunner runner(String secret, String... args) {
        List<String> cmd = new ArrayList<>(List.of("java", "-Xmx256m", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        return ProcessRunner.command(cmd)
                .env("AWS_ENDPOINT_URL", server.endpoint().toString())
                .env("AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY)
                .env("AWS_SECRET_ACCESS_KEY", secret)
                .env("AWS_REGION", "us-east-1")
                .env("AWS_PROFILE", null)
                .env("AWS_CONFIG_FILE", tmp.resolve("no-aws-config").toString())
                .env("AWS_SHARED_CREDENTIALS_FILE", tmp.resolve("no-aws-credentials").toString());
    }

    private static ProcessResult cli(String... args) throws Exception {
        return cliWithSecret(S3ProxyServer.SECRET_KEY, args);
    }

    @Test
    void initListVerifyRestorePruneGcOnS3() throws Exception {
        String store = "s3://cli/stores/one";
        ProcessResult init = cli("store", "init", store, "--chunk-size", "64K");
        assertThat(init.exitCode()).as(init.output()).isZero();
        assertThat(init.stdout()).contains("initialized store " + store);

        byte[] img = new byte[1_000_000 + 17];
        new Random(9).nextBytes(img);
        java.util.Arrays.fill(img, 300_000, 500_000, (byte) 0);
        try (ChunkStore s = ChunkStore.open(S3Backend.open(S3Location.parse(store), S3Options.fromEnvironment().withEndpoint(server.endpoint())
                .withCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)), Optional.empty());
                SnapshotWriter w = s.create(SnapshotSpec.full(ID, List.of(DiskSpec.full("drive-scsi0", img.length)),
                        false, Map.of("qemu-server.conf", "memory: 512\nscsi0: local:vm-100-disk-0,size=1000017\n".getBytes())))) {
            w.write(0, 0, ByteBuffer.wrap(img));
            w.commit();
        }

        ProcessResult list = cli("store", "list", store);
        assertThat(list.exitCode()).as(list.output()).isZero();
        assertThat(list.stdout()).contains(ID.toString());
        ProcessResult verify = cli("store", "verify", store);
        assertThat(verify.exitCode()).as(verify.output()).isZero();

        Path to = tmp.resolve("restored");
        ProcessResult restore = cli("restore", store, "--snapshot", ID.toString(), "--to", to.toString());
        assertThat(restore.exitCode()).as(restore.output()).isZero();
        List<Path> disks;
        try (Stream<Path> files = Files.list(to)) {
            disks = files.filter(f -> {
                try {
                    return Files.size(f) == img.length;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        }
        assertThat(disks).hasSize(1);
        assertThat(Files.readAllBytes(disks.get(0))).isEqualTo(img);

        ProcessResult prune = cli("store", "prune", store, "--vm", "web1", "--keep-last", "1");
        assertThat(prune.exitCode()).as(prune.output()).isZero();
        ProcessResult gc = cli("store", "gc", store);
        assertThat(gc.exitCode()).as(prune.output() + gc.output()).isZero();
    }

    @Test
    void aLiveQemuBackupIntoS3RestoresBitExact() throws Exception {
        byte[] disk = new byte[16 << 20];
        Random r = new Random(22);
        for (int i = 0; i < disk.length; i += 1 << 20) {
            if ((i >> 20) % 3 != 2) { // a third of the disk stays a hole
                byte[] mib = new byte[1 << 20];
                r.nextBytes(mib);
                System.arraycopy(mib, 0, disk, i, mib.length);
            }
        }
        String store = "s3://cli/stores/qemu";
        assertThat(cli("store", "init", store).exitCode()).isZero();
        String id;
        try (QemuProcess vm = QemuProcess.system().args("-drive", "if=none,id=hd0,file={dir}/d0.raw,format=raw",
                "-device", "virtio-blk-pci,drive=hd0").start(dir -> Files.write(dir.resolve("d0.raw"), disk))) {
            ProcessResult backup = cli("backup", "--qmp", vm.qmpSocket().toString(), "--store", store, "--vm", "web1");
            assertThat(backup.exitCode()).as(backup.output()).isZero();
            // progress as a backup into a directory store shows it (BackupCommandIT): bar lines, the finished disk
            assertThat(backup.stdout()).containsPattern("drive-hd0 \\[#{20}\\] 100%")
                    .contains("Finished device drive-hd0").contains("new in the store");
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^snapshot (\\S+/\\S+)$").matcher(backup.stdout());
            assertThat(m.find()).as(backup.output()).isTrue();
            id = m.group(1);
        }
        Path to = tmp.resolve("qemu-restored");
        ProcessResult restore = cli("restore", store, "--snapshot", id, "--to", to.toString());
        assertThat(restore.exitCode()).as(restore.output()).isZero();
        assertThat(Files.readAllBytes(to.resolve("drive-hd0.raw"))).isEqualTo(disk);
        // and a restore from S3 reports like one from a directory store (RestoreCommandTest)
        assertThat(restore.stderr()).containsPattern("drive-hd0: +\\d+% \\(\\d+ of 16777216 bytes, [0-9.]+ MiB/s\\)")
                .contains("Finished device drive-hd0 (16777216 bytes)");

        // the snapshot over NBD straight from S3 (the live-restore export): qemu-img reads exactly the disk
        Path sock = tmp.resolve("s3snap.sock");
        try (RunningProcess serve = runner(S3ProxyServer.SECRET_KEY, "nbd", "serve", "--store", store, "--snapshot", id,
                "--socket", sock.toString(), "--no-warm-up").start()) {
            for (int i = 0; i < 1500 && !Files.exists(sock) && serve.process().isAlive(); i++) {
                Thread.sleep(20);
            }
            assertThat(sock).as(serve.stdoutSoFar() + serve.stderrSoFar()).exists();
            String uri = "nbd+unix:///drive-hd0?socket=" + sock;
            assertThat(RestoreCommandIT.RestoreToolRun.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-f", "raw",
                    "-F", "raw", uri, to.resolve("drive-hd0.raw").toString())).contains("Images are identical");
        }
        ProcessResult verify = cli("store", "verify", store);
        assertThat(verify.exitCode()).as(verify.output()).isZero();
    }

    @Test
    void verifyWithABandwidthLimitDownloadsNoFasterThanTheRate() throws Exception {
        String store = "s3://cli/stores/bw";
        ProcessResult init = cli("store", "init", store, "--chunk-size", "64K");
        assertThat(init.exitCode()).as(init.output()).isZero();
        // incompressible: the chunk objects hold 6 MiB, 6 s at 1 MiB/s, well above the CLI's own start-up time
        // (measured beside it, unlimited)
        byte[] img = new byte[6 * 1024 * 1024];
        new Random(10).nextBytes(img);
        try (ChunkStore s = ChunkStore.open(S3Backend.open(S3Location.parse(store), S3Options.fromEnvironment().withEndpoint(server.endpoint())
                .withCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)), Optional.empty());
                SnapshotWriter w = s.create(SnapshotSpec.full(ID, List.of(DiskSpec.full("drive-scsi0", img.length)), false, Map.of()))) {
            w.write(0, 0, ByteBuffer.wrap(img));
            w.commit();
        }
        long t0 = System.nanoTime();
        ProcessResult free = cli("store", "verify", store);
        long unlimited = (System.nanoTime() - t0) / 1_000_000;
        assertThat(free.exitCode()).as(free.output()).isZero();
        long t1 = System.nanoTime();
        ProcessResult verify = cli("store", "verify", store, "--bwlimit", "1M");
        long ms = (System.nanoTime() - t1) / 1_000_000;
        assertThat(verify.exitCode()).as(verify.output()).isZero();
        assertThat(ms).as("6 MiB of chunks read at 1 MiB/s (unlimited: %d ms)", unlimited).isGreaterThanOrEqualTo(5900);
    }

    @Test
    void aMissingBucketAndWrongCredentialsAreOneLineEach() throws Exception {
        ProcessResult missing = cli("store", "list", "s3://no-such-bucket/x");
        assertThat(missing.exitCode()).isEqualTo(ExitCode.FAILED);
        assertThat(missing.stderr().strip().lines()).hasSize(1);
        assertThat(missing.stderr().strip()).endsWith(": store s3://no-such-bucket/x/: the S3 bucket "
                + "'no-such-bucket' does not exist");
        ProcessResult wrong = cliWithSecret("wrong-secret", "store", "verify", "s3://cli/stores/one");
        assertThat(wrong.exitCode()).isEqualTo(ExitCode.FAILED);
        assertThat(wrong.stderr().strip().lines()).hasSize(1);
        assertThat(wrong.stderr()).contains("the S3 server refused the credentials").doesNotContain("Exception");
        ProcessResult bad = cli("store", "list", "s3://Bad_Bucket/x");
        assertThat(bad.exitCode()).as(bad.output()).isNotZero();
        assertThat(bad.stderr().strip().lines()).hasSize(1);
        assertThat(bad.stderr()).contains("is not an S3 bucket name");
    }
}
