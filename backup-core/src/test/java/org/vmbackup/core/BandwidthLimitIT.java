package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.testkit.QemuInstall;

/**
 * A bandwidth limit slows a backup and a restore to files that would otherwise take well under a second down to
 * about data / rate, and both still produce exactly the right bytes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BandwidthLimitIT {
    private static final Logger log = LoggerFactory.getLogger(BandwidthLimitIT.class);
    private static final int MIB = 1 << 20;
    // QEMU's and our limiters both let a burst of 100 ms through at the start; allow for it and timer slack
    private static final long SLACK_MS = 400;

    @TempDir
    Path tmp;

    /** From the first COPYING progress to the first with every disk byte done, in the session's own elapsed time. */
    private static final class DiskCopyClock implements BackupProgressListener {
        private volatile Duration copying;
        private volatile Duration disksDone;

        @Override
        public void onProgress(BackupProgress p) {
            if (p.phase() == BackupPhase.COPYING && copying == null) {
                copying = p.elapsed();
            }
            if (copying != null && disksDone == null && p.doneBytes() == p.totalBytes()) {
                disksDone = p.elapsed();
            }
        }

        long millis() {
            assertThat(disksDone).as("every disk byte was reported done").isNotNull();
            return disksDone.minus(copying).toMillis();
        }
    }

    @Test
    void aLimitedBackupAndRestoreTakeDataOverRateAndStayExact() throws Exception {
        try (TestVm vm = TestVm.start(31, 128, 12 * MIB, 12 * MIB)) {
            // TestVm leaves a quarter of each disk a hole: 18 MiB of data. Whether QEMU's job also counts the
            // zeroes against its speed is its business; the data alone sets the lower bound.
            long data = 2 * (12L * MIB * 3 / 4);
            long backupRate = 6L * MIB;
            long floorMs = data * 1000 / backupRate - SLACK_MS;
            DiskCopyClock freeClock = new DiskCopyClock();
            BackupSession.builder().qmpSocket(vm.qmpSocket()).target(tmp.resolve("free.vma"))
                    .progressInterval(Duration.ofMillis(50)).progress(freeClock).build().start()
                    .get(90, TimeUnit.SECONDS);

            Path archive = tmp.resolve("vm.vma");
            DiskCopyClock clock = new DiskCopyClock();
            BackupResult r = BackupSession.builder().qmpSocket(vm.qmpSocket()).target(archive)
                    .progressInterval(Duration.ofMillis(50)).progress(clock)
                    .bandwidthLimit(backupRate).build().start().get(90, TimeUnit.SECONDS);
            log.info("disk copy of {} data bytes: unlimited {} ms, at {} B/s {} ms (floor {} ms); guest pause {} ms",
                    data, freeClock.millis(), backupRate, clock.millis(), floorMs, r.guestPause().toMillis());
            // on a busy 2-core machine "quickly" varies: that the limit alone makes the difference is the point
            assertThat(freeClock.millis()).as("unlimited, the disks are copied quickly").isLessThan(floorMs);
            assertThat(clock.millis()).as("disk copy held to the rate").isGreaterThanOrEqualTo(floorMs);
            assertThat(r.guestPause().toMillis()).as("the throttled copy is not inside the pause")
                    .isLessThan(floorMs / 2);
            ArchiveContents a = ArchiveContents.read(archive);
            assertThat(a.images.get("drive-hd0")).isEqualTo(vm.disks.get(0));
            assertThat(a.images.get("drive-hd1")).isEqualTo(vm.disks.get(1));
            assertThat(BackupSessionIT.indexOf(a.vmstate, java.util.Arrays.copyOfRange(vm.ram, 0, 4096)))
                    .as("RAM pattern page in the (unlimited) VM state").isNotNegative();
            vm.assertClean();

            RestoreResult fast = RestoreSession.builder().archive(archive).imageDirectory(tmp.resolve("fast"))
                    .build().start().get(60, TimeUnit.SECONDS);
            long restoreRate = 8L * MIB;
            long restoreFloorMs = data * 1000 / restoreRate - SLACK_MS;
            RestoreResult slow = RestoreSession.builder().archive(archive).imageDirectory(tmp.resolve("slow"))
                    .bandwidthLimit(restoreRate).build().start().get(60, TimeUnit.SECONDS);
            log.info("restore of {} data bytes: unlimited {} ms, at {} B/s {} ms (floor {} ms)", data,
                    fast.duration().toMillis(), restoreRate, slow.duration().toMillis(), restoreFloorMs);
            assertThat(fast.duration().toMillis()).as("unlimited, the restore is quick")
                    .isLessThan(restoreFloorMs);
            assertThat(slow.duration().toMillis()).as("restore held to the rate")
                    .isGreaterThanOrEqualTo(restoreFloorMs);
            for (int i = 0; i < 2; i++) {
                assertThat(Files.readAllBytes(slow.disks().get(i).path())).isEqualTo(vm.disks.get(i));
            }

            // qcow2 from the archive file: written by the same limited pass as the raw images
            long qcowFloorMs = restoreFloorMs;
            // the qemu-img of the QEMU under test (VMBACKUP_QEMU_PREFIX) reads the images back
            Path qemuImg = QemuInstall.current().prefix().map(p -> p.resolve("usr/bin/qemu-img"))
                    .orElse(Path.of("qemu-img"));
            RestoreResult qcow = RestoreSession.builder().archive(archive).imageDirectory(tmp.resolve("qcow2"))
                    .format(RestoreFormat.QCOW2).bandwidthLimit(restoreRate).build().start()
                    .get(60, TimeUnit.SECONDS);
            log.info("qcow2 restore at {} B/s: {} ms (floor {} ms)", restoreRate, qcow.duration().toMillis(),
                    qcowFloorMs);
            assertThat(qcow.duration().toMillis()).as("qcow2 restore held to the rate")
                    .isGreaterThanOrEqualTo(qcowFloorMs);
            for (int i = 0; i < 2; i++) {
                Process p = new ProcessBuilder(qemuImg.toString(), "compare", "-q", "-f", "qcow2", "-F", "raw",
                        qcow.disks().get(i).path().toString(), slow.disks().get(i).path().toString())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("qemu-img compare finished").isTrue();
                assertThat(p.exitValue()).as("qcow2 image " + i + " holds the disk").isZero();
            }
        }
    }

    @Test
    void aBackupWithoutVmStateIsHeldToTheLimitToo() throws Exception {
        // Without a VM state there is no guest pause after which the jobs are re-throttled: the limit must be
        // the jobs' speed from their start (before, such a backup ran unlimited).
        try (TestVm vm = TestVm.start(33, 128, 12 * MIB, 12 * MIB)) {
            long data = 2 * (12L * MIB * 3 / 4);
            long backupRate = 6L * MIB;
            long floorMs = data * 1000 / backupRate - SLACK_MS;
            Path archive = tmp.resolve("disks.vma");
            DiskCopyClock clock = new DiskCopyClock();
            BackupResult r = BackupSession.builder().qmpSocket(vm.qmpSocket()).target(archive).includeVmstate(false)
                    .progressInterval(Duration.ofMillis(50)).progress(clock)
                    .bandwidthLimit(backupRate).build().start().get(90, TimeUnit.SECONDS);
            log.info("disk-only copy of {} data bytes at {} B/s: {} ms (floor {} ms)", data, backupRate,
                    clock.millis(), floorMs);
            assertThat(clock.millis()).as("disk copy held to the rate").isGreaterThanOrEqualTo(floorMs);
            assertThat(r.vmstateIncluded()).isFalse();
            ArchiveContents a = ArchiveContents.read(archive);
            assertThat(a.images.get("drive-hd0")).isEqualTo(vm.disks.get(0));
            assertThat(a.images.get("drive-hd1")).isEqualTo(vm.disks.get(1));
            vm.assertClean();
        }
    }
}
