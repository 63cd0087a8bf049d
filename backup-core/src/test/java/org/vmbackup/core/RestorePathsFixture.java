package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;
import org.vmbackup.testkit.RequiredTool;

/**
 * Every restore path from one live backup of a two-disk VM with RAM, for an archive format given by a subclass:
 * disks to raw and qcow2 files, the running state into a QEMU waiting with {@code -incoming defer}, live restore
 * with guest reads during the copy, and the NBD export compared by {@code qemu-img compare}. One source VM per class
 * (backed up once).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
abstract class RestorePathsFixture {
    private final RestoreTestVm src = new RestoreTestVm(17);
    /** A temporary directory for the class, removed after it. */
    protected Path tmp;

    /** Where the backup goes, in the format under test (called once, with {@link #tmp} set). */
    protected abstract ArchiveTarget target() throws Exception;

    /** Opens the archive the backup made, as a new source (each restore owns and closes its own). */
    protected abstract ArchiveSource open() throws Exception;

    /** Releases what the format holds open (called before the temporary directory goes). */
    protected void release() throws Exception {
    }

    @BeforeAll
    void backUp() throws Exception {
        tmp = Files.createTempDirectory("restore-paths-it-");
        ArchiveTarget target = target();
        try (QemuProcess vm = src.startSource()) {
            BackupResult r = BackupSession.builder().qmpSocket(vm.qmpSocket()).target(target).build().start()
                    .get(120, TimeUnit.SECONDS);
            assertThat(r.disks()).hasSize(2);
        }
        try (ArchiveSource s = open()) {
            assertThat(s.layout().disks()).extracting(ArchiveDisk::name).containsExactly("drive-hd0", "drive-hd1");
            assertThat(s.layout().hasVmstate()).isTrue();
        }
        Files.write(tmp.resolve("expected0.raw"), src.d0);
        Files.write(tmp.resolve("expected1.raw"), src.d1);
    }

    @AfterAll
    void removeTheArchive() throws Exception {
        release();
        try (Stream<Path> s = Files.walk(tmp)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private Path expected(int i) {
        return tmp.resolve("expected" + i + ".raw");
    }

    private static String qemuImg() {
        return RequiredTool.QEMU_IMG.path().toString();
    }

    @Test
    void disksRestoreBitExactToRawAndToQcow2() throws Exception {
        Path raw = tmp.resolve("raw");
        RestoreResult r = RestoreSession.builder().archive(open()).imageDirectory(raw).build().start().join();
        assertThat(r.disks()).extracting(RestoredDisk::name).containsExactly("drive-hd0", "drive-hd1");
        assertThat(Files.readAllBytes(raw.resolve("drive-hd0.raw"))).isEqualTo(src.d0);
        assertThat(Files.readAllBytes(raw.resolve("drive-hd1.raw"))).isEqualTo(src.d1);
        Path qcow2 = tmp.resolve("qcow2");
        RestoreResult q = RestoreSession.builder().archive(open()).imageDirectory(qcow2).format(RestoreFormat.QCOW2)
                .build().start().join();
        for (int i = 0; i < 2; i++) {
            Path image = q.disks().get(i).path();
            assertThat(image).isEqualTo(qcow2.resolve("drive-hd" + i + ".qcow2"));
            assertThat(RestoreTools.run(qemuImg(), "info", image.toString())).contains("file format: qcow2");
            assertThat(RestoreTools.run(qemuImg(), "compare", "-f", "qcow2", "-F", "raw", image.toString(),
                    expected(i).toString())).contains("Images are identical");
        }
        try (Stream<Path> s = Files.list(qcow2)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("drive-hd0.qcow2",
                    "drive-hd1.qcow2");
        }
    }

    @Test
    void theNbdExportComparesIdenticalToTheSourceDisks() throws Exception {
        Path sock = tmp.resolve("export.sock");
        ArchiveExportServer server = ArchiveExportServer.builder(open()).unixSocket(sock).start().join();
        try {
            assertThat(server.server().exports()).containsExactlyInAnyOrder("drive-hd0", "drive-hd1");
            for (int i = 0; i < 2; i++) {
                String uri = "nbd+unix:///drive-hd" + i + "?socket=" + sock;
                assertThat(RestoreTools.run(qemuImg(), "compare", "-f", "raw", "-F", "raw", uri,
                        expected(i).toString())).contains("Images are identical");
            }
            // the zero range of hd1's first MiB is served as a hole
            String map = RestoreTools.run(RequiredTool.NBDINFO.path().toString(), "--map",
                    "nbd+unix:///drive-hd1?socket=" + sock);
            assertThat(map).containsPattern("(?m)^\\s*0\\s+1048576\\s+3\\s+hole,zero");
        } finally {
            server.close().join();
        }
        assertThat(sock).doesNotExist();
    }

    @Test
    void theRunningStateResumesWithTheBackedUpRamAndDisks() throws Exception {
        try (QemuProcess target = RestoreTestVm.startTarget(RestoreTestVm.DISK0, RestoreTestVm.DISK1)) {
            RestoreVmResult r = RestoreVmSession.builder().archive(open()).qmpSocket(target.qmpSocket())
                    .workDirectory(tmp.resolve("work")).build().start().join();
            assertThat(r.running()).isTrue();
            assertThat(r.vmstateBytes()).isPositive();
            try (RawQmp qmp = RawQmp.connect(target.qmpSocket())) {
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
                assertThat(RestoreTestVm.pmemsave(qmp, target.dir())).isEqualTo(src.pattern);
            }
            assertThat(Files.readAllBytes(target.dir().resolve("t0.raw"))).isEqualTo(src.d0);
            assertThat(Files.readAllBytes(target.dir().resolve("t1.raw"))).isEqualTo(src.d1);
        }
        try (Stream<Path> s = Files.list(tmp.resolve("work"))) {
            assertThat(s).as("no spool of a random-access archive's VM state is left").isEmpty();
        }
    }

    @Test
    void liveRestoreServesGuestReadsDuringTheCopyAndEndsOnLocalImages() throws Exception {
        LiveRestorePlan plan = LiveRestoreSession.builder().archive(open()).imageDirectory(tmp.resolve("images"))
                .bandwidthLimit(512 << 10).build().prepare().join();
        assertThat(plan.hasVmstate()).isTrue();
        try (QemuProcess target = RestoreTestVm.startLiveTarget(plan)) {
            LiveRestoreRun run = plan.start(target.qmpSocket()).get(60, TimeUnit.SECONDS);
            try (RawQmp qmp = RawQmp.connect(target.dir().resolve("test.sock"))) {
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
                assertThat(run.completion()).as("the copy is still running").isNotDone();
                LiveRestoreSessionIT.assertRead(target, qmp, "hd0", "0x5a", 3 << 20, 65536);
                LiveRestoreSessionIT.assertRead(target, qmp, "hd1", "0xa5", 5 << 20, 65536);
                LiveRestoreSessionIT.assertRead(target, qmp, "hd1", "0", 0, 65536);
                assertThat(run.completion()).as("reads happened during the copy").isNotDone();
                assertThat(RestoreTestVm.pmemsave(qmp, target.dir())).isEqualTo(src.pattern);
                run.setRateLimit(0).get(30, TimeUnit.SECONDS);
                run.completion().get(120, TimeUnit.SECONDS);
                assertThat(qmp.execute("{\"execute\":\"query-named-block-nodes\"}")).doesNotContain("\"nbd\"");
                RestoreTestVm.ok(qmp.execute("{\"execute\":\"stop\"}")); // flushes the qcow2 metadata
                for (int i = 0; i < 2; i++) {
                    Path image = plan.images().get("drive-hd" + i);
                    assertThat(RestoreTools.run(qemuImg(), "info", "-U", image.toString()))
                            .doesNotContain("backing file");
                    assertThat(RestoreTools.run(qemuImg(), "compare", "-U", "-f", "qcow2", "-F", "raw",
                            image.toString(), expected(i).toString())).contains("Images are identical");
                }
            }
        }
        assertThat(plan.nbdSocket()).doesNotExist();
    }
}
