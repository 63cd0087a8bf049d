package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;
import org.vmbackup.testkit.RequiredTool;

/** Live restore: the guest runs on the archive over NBD while its disks are copied into local images. */
class LiveRestoreSessionIT {
    private static final Logger log = LoggerFactory.getLogger(LiveRestoreSessionIT.class);

    @TempDir
    Path tmp;

    @Test
    void guestRunsOnTheArchiveDuringTheCopyAndEndsOnLocalImagesWithItsWrites() throws Exception {
        RestoreTestVm src = new RestoreTestVm(9);
        Path archive = tmp.resolve("vm.vma");
        try (QemuProcess vm = src.startSource()) {
            RestoreTestVm.backup(vm, archive);
        }
        List<RestoreProgress> progress = Collections.synchronizedList(new ArrayList<>());
        LiveRestorePlan plan = LiveRestoreSession.builder().archive(archive).imageDirectory(tmp.resolve("images"))
                .bandwidthLimit(512 << 10).progress(progress::add).build().prepare().join();
        assertThat(plan.hasVmstate()).isTrue();
        try (QemuProcess target = RestoreTestVm.startLiveTarget(plan)) {
            LiveRestoreRun run = plan.start(target.qmpSocket()).get(60, TimeUnit.SECONDS);
            log.info("time to running VM: {} ms", run.timeToRunning().toMillis());
            try (RawQmp qmp = RawQmp.connect(target.dir().resolve("test.sock"))) {
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
                String jobs = qmp.execute("{\"execute\":\"query-block-jobs\"}");
                assertThat(jobs).as("the copy is still running").contains("restore-hd0").contains("restore-hd1");
                assertThat(run.completion()).isNotDone();
                // guest-side reads through the device's BlockBackend come from the archive
                assertRead(target, qmp, "hd0", "0x5a", 3 << 20, 65536);
                assertRead(target, qmp, "hd1", "0xa5", 5 << 20, 65536);
                assertRead(target, qmp, "hd0", "0", 1 << 20, 65536);
                assertThat(run.completion()).as("reads happened during the copy").isNotDone();
                assertThat(RestoreTestVm.pmemsave(qmp, target.dir())).isEqualTo(src.pattern);
                // a guest write during the copy lands in the local image and is not overwritten by the copy
                RestoreTestVm.ok(qmp.execute(RestoreTestVm.hmp("qemu-io hd0 \"write -P 0x77 2M 64k\"")));
                assertThat(run.completion()).isNotDone();
                run.setRateLimit(0).get(30, TimeUnit.SECONDS);
                LiveRestoreResult done = run.completion().get(120, TimeUnit.SECONDS);
                log.info("live restore: running after {} ms, copy done after {} ms", done.timeToRunning().toMillis(),
                        done.duration().toMillis());
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
                assertThat(qmp.execute("{\"execute\":\"query-named-block-nodes\"}")).doesNotContain("\"nbd\"");
                assertRead(target, qmp, "hd0", "0x5a", (3 << 20) + 32768, 32768);
                assertThat(plan.nbdSocket()).doesNotExist();
                assertThat(plan.nbdSocket().getParent()).as("the session's temporary directory").doesNotExist();
                RestoreTestVm.ok(qmp.execute("{\"execute\":\"stop\"}")); // flushes the qcow2 metadata to the files
                for (int i = 0; i < 2; i++) {
                    Path image = plan.images().get("drive-hd" + i);
                    String info = RestoreTools.run(RequiredTool.QEMU_IMG.path().toString(), "info", "-U",
                            image.toString());
                    assertThat(info).doesNotContain("backing file");
                    Path expected = tmp.resolve("expected" + i + ".raw");
                    byte[] want = (i == 0 ? src.d0 : src.d1).clone();
                    if (i == 0) {
                        java.util.Arrays.fill(want, 2 << 20, (2 << 20) + 65536, (byte) 0x77);
                    }
                    Files.write(expected, want);
                    String cmp = RestoreTools.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-U", "-f",
                            "qcow2", "-F", "raw", image.toString(), expected.toString());
                    assertThat(cmp).contains("Images are identical");
                }
            }
        }
        assertThat(progress).anyMatch(p -> p.disk("drive-hd0").finished())
                .anyMatch(p -> p.disk("drive-hd1").finished()).last().matches(RestoreProgress::finished);
    }

    @Test
    void aPausedGuestIsNotResumedOnAnArchiveWhoseBackgroundScanFails() throws Exception {
        byte[] plain = Files.readAllBytes(RestoreVectors.dir().resolve("two-disks.vma"));
        Path cut = tmp.resolve("cut.vma");
        Files.write(cut, java.util.Arrays.copyOf(plain, plain.length - 1000));
        LiveRestorePlan plan = LiveRestoreSession.builder().archive(cut).imageDirectory(tmp.resolve("images"))
                .build().prepare().join();
        List<String> args = new ArrayList<>(plan.driveArgs());
        args.addAll(List.of("-S", "-qmp", "unix:{dir}/test.sock,server=on,wait=off"));
        try (QemuProcess target = QemuProcess.system().args(args.toArray(String[]::new)).start()) {
            assertThatThrownBy(() -> plan.start(target.qmpSocket()).get(60, TimeUnit.SECONDS))
                    .hasRootCauseInstanceOf(org.vmbackup.vma.VmaFormatException.class)
                    .hasMessageContaining("truncated").hasMessageContaining(cut.toString());
            try (RawQmp qmp = RawQmp.connect(target.dir().resolve("test.sock"))) {
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"prelaunch\"")
                        .contains("\"running\": false");
                assertThat(qmp.execute("{\"execute\":\"query-block-jobs\"}")).doesNotContain("restore-");
            }
        } finally {
            plan.close().join();
        }
        assertThat(plan.nbdSocket().getParent()).as("the session's temporary directory").doesNotExist();
    }

    /**
     * HMP {@code qemu-io DEV "read -P PATTERN OFFSET LEN"} through the guest device's BlockBackend. qemu-io prints to
     * QEMU's stdout (a file here, block-buffered), so a large {@code read -v} afterwards pushes the result out.
     */
    static void assertRead(QemuProcess vm, RawQmp qmp, String dev, String pattern, long offset, int len)
            throws Exception {
        RestoreTestVm.ok(qmp.execute(RestoreTestVm.hmp("qemu-io " + dev + " \"read -P " + pattern + " " + offset + " "
                + len + "\"")));
        RestoreTestVm.ok(qmp.execute(RestoreTestVm.hmp("qemu-io " + dev + " \"read -v 0 64k\"")));
        String done = "read " + len + "/" + len + " bytes at offset " + offset;
        for (int i = 0; i < 100 && !vm.output().contains(done); i++) {
            Thread.sleep(50);
        }
        assertThat(vm.output()).contains(done)
                .doesNotContain("Pattern verification failed at offset " + offset + ",");
    }
}
