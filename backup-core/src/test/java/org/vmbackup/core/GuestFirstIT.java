package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.testkit.ProcessRunner;

/**
 * The guest comes first: whatever the archive does while QEMU's copy-before-write waits on it (stall, throw, run
 * out of space), a guest write into a region not yet backed up succeeds within the cbw timeout + 1 s, the backup
 * fails naming the disk, the guest keeps running and QEMU is left clean.
 *
 * <p>Set-up of each test: one 128 MiB disk that is a hole except for 4 MiB of data at 96 MiB, and a
 * {@link TroubleTarget} misbehaving there only. The session limits the job to 1 byte/s from its start (its first
 * request, 1 MiB in the hole, goes out before the limit bites), so the data region is still to be copied when the
 * guest writes into it: its old data then goes to the archive through copy-before-write. (Before, the test
 * throttled the job itself once COPYING was reported while the target held the job's first burst back; in CI QEMU
 * then sometimes left the test's own QMP commands unanswered until the cbw guard released the held writes.)
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class GuestFirstIT {
    private static final Logger log = LoggerFactory.getLogger(GuestFirstIT.class);
    private static final int MIB = 1 << 20;
    private static final long DISK = 128L * MIB;
    private static final long DATA_AT = 96L * MIB;
    private static final int DATA = 4 * MIB;
    /** Short, so the tests that wait for it stay short; long enough for a loaded 2-core TCG machine. */
    private static final Duration CBW_TIMEOUT = Duration.ofSeconds(5);

    @TempDir
    Path tmp;

    /** What the guest write saw and how the backup ended. */
    private record Outcome(long writeMillis, BackupException failure) {
    }

    private Outcome guestWriteDuringTrouble(TestVm vm, TroubleTarget target, boolean vmstate) throws Exception {
        return guestWriteDuringTrouble(vm, target, vmstate, true);
    }

    /**
     * @param regionReachesArchive whether the region's old data must reach the archive first; not so for the full
     *     disk, where the job's own first request may already meet the full file system and the archive is given
     *     up before
     */
    private Outcome guestWriteDuringTrouble(TestVm vm, TroubleTarget target, boolean vmstate,
            boolean regionReachesArchive) throws Exception {
        CountDownLatch copying = new CountDownLatch(1);
        CompletableFuture<BackupResult> f = BackupSession.builder().qmpSocket(vm.qmpSocket()).includeVmstate(vmstate)
                .cbwTimeout(CBW_TIMEOUT).bandwidthLimit(1).target(target).progress(p -> {
                    if (p.phase() == BackupPhase.COPYING) {
                        copying.countDown();
                    }
                }).build().start();
        log.info("QEMU {}", vm.check().execute("{\"execute\":\"query-version\"}"));
        assertThat(copying.await(60, TimeUnit.SECONDS)).as("the backup reached COPYING").isTrue();
        long t0 = System.nanoTime();
        String reply = vm.check().execute("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
                + "\"qemu-io hd0 \\\"write -P 0x5a " + DATA_AT + " 64k\\\"\"}}");
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        log.info("guest write into the region not yet copied took {} ms", ms);
        assertThat(reply).isEqualTo("{\"return\": \"\"}");
        assertGuestWriteSucceeded(vm);
        if (regionReachesArchive) {
            assertThat(target.hits.get()).as("copy-before-write sent the region's old data to the archive")
                    .isPositive();
        }
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> f.get(120, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(BackupException.class);
        log.info("session failed as expected: {}", e.getCause().getMessage());
        vm.assertClean();
        // the guest's bytes are on its disk
        byte[] back = new byte[64 << 10];
        try (FileChannel ch = FileChannel.open(vm.qemu.dir().resolve("d0.raw"), StandardOpenOption.READ)) {
            ch.read(ByteBuffer.wrap(back), DATA_AT);
        }
        assertThat(back).containsOnly((byte) 0x5a);
        return new Outcome(ms, (BackupException) e.getCause());
    }

    /** Throttles every block job to 1 byte/s through the test's own monitor. */
    /** HMP qemu-io prints its result in QEMU's log, not in the reply. */
    private static void assertGuestWriteSucceeded(TestVm vm) throws InterruptedException {
        String ok = "wrote 65536/65536 bytes at offset " + DATA_AT;
        for (int i = 0; i < 100 && !vm.qemu.output().contains(ok) && !vm.qemu.output().contains("failed"); i++) {
            Thread.sleep(20);
        }
        assertThat(vm.qemu.output()).contains(ok).doesNotContain("write failed");
    }

    private void assertNoArchive() throws IOException {
        try (var s = Files.list(tmp)) {
            assertThat(s.filter(p -> !p.getFileName().toString().equals("full")).toList()).isEmpty();
        }
    }

    @Test
    void aStalledArchiveHoldsAGuestWriteNoLongerThanTheCbwTimeout() throws Exception {
        try (TestVm vm = TestVm.startSparse(41, 128, DISK, DATA_AT, DATA)) {
            TroubleTarget t = new TroubleTarget(ArchiveTarget.of(tmp.resolve("a.vma")), DATA_AT, DATA_AT + DATA,
                    TroubleTarget.Trouble.STALL);
            Outcome o = guestWriteDuringTrouble(vm, t, true);
            // held while the archive stalled (so the write did go through it), released at the timeout
            assertThat(o.writeMillis()).isBetween(CBW_TIMEOUT.toMillis() - 100, CBW_TIMEOUT.toMillis() + 1000);
            assertThat(o.failure()).hasMessageContaining("disk drive-hd0").hasMessageContaining(
                    "within " + CBW_TIMEOUT.toMillis() + " ms (cbw timeout)");
            assertNoArchive();
        }
    }

    @Test
    void aWhollyStalledArchiveVmStateIncludedIsGivenUpWithinTheLimit() throws Exception {
        try (TestVm vm = TestVm.startSparse(44, 128, DISK, DATA_AT, DATA)) {
            // an archive on a hung file system: every disk write past the first MiB and the VM state stall
            TroubleTarget t = new TroubleTarget(ArchiveTarget.of(tmp.resolve("a.vma")), MIB, DISK,
                    TroubleTarget.Trouble.STALL);
            t.stallVmstate = true;
            Outcome o = guestWriteDuringTrouble(vm, t, true);
            assertThat(o.writeMillis()).isLessThan(CBW_TIMEOUT.toMillis() + 1000);
            // whichever stalled call ran out of time first: a disk's or the VM state's
            assertThat(o.failure()).hasMessageMatching("(?s).*(disk drive-hd0|VM state stream).*within "
                    + CBW_TIMEOUT.toMillis() + " ms \\(cbw timeout\\).*");
            // the snapshot was read to its end, not cut off
            assertThat(vm.check().execute("{\"execute\":\"query-migrate\"}")).contains("\"completed\"");
            assertNoArchive();
        }
    }

    @Test
    void aThrowingArchiveNeverFailsAGuestWrite() throws Exception {
        try (TestVm vm = TestVm.startSparse(42, 128, DISK, DATA_AT, DATA)) {
            TroubleTarget t = new TroubleTarget(ArchiveTarget.of(tmp.resolve("a.vma")), DATA_AT, DATA_AT + DATA,
                    TroubleTarget.Trouble.THROW);
            Outcome o = guestWriteDuringTrouble(vm, t, true);
            assertThat(o.writeMillis()).isLessThan(CBW_TIMEOUT.toMillis() + 1000);
            assertThat(o.failure()).hasMessageContaining("disk drive-hd0")
                    .hasMessageContaining("simulated archive failure");
            assertNoArchive();
        }
    }

    @Test
    void aFullArchiveDiskNeverFailsAGuestWrite() throws Exception {
        Path full = Files.createDirectory(tmp.resolve("full"));
        ProcessRunner.command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", full.toString())
                .timeout(Duration.ofSeconds(30)).run().requireSuccess();
        try (TestVm vm = TestVm.startSparse(43, 128, DISK, DATA_AT, DATA)) {
            // a directory archive writes each request into its sparse image at once: the hole costs nothing,
            // the first data that arrives meets the full file system
            Path filler = full.resolve("filler");
            try (FileChannel ch = FileChannel.open(filler, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocate(64 << 10);
                try {
                    while (true) {
                        b.clear();
                        ch.write(b);
                    }
                } catch (IOException e) {
                    assertThat(e).hasMessageContaining("No space left");
                }
            }
            // room for the archive's small files (its config blobs), not for one cluster of data
            try (FileChannel ch = FileChannel.open(filler, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() - (32 << 10));
            }
            TroubleTarget t = new TroubleTarget(ArchiveTarget.directory(full.resolve("a")), DATA_AT,
                    DATA_AT + DATA, TroubleTarget.Trouble.PASS);
            Outcome o = guestWriteDuringTrouble(vm, t, false, false);
            assertThat(o.writeMillis()).isLessThan(CBW_TIMEOUT.toMillis() + 1000);
            assertThat(o.failure()).hasMessageContaining("disk drive-hd0")
                    .hasMessageContaining("No space left on device");
            Files.delete(filler);
            try (var s = Files.list(full)) {
                assertThat(s.toList()).isEmpty();
            }
        } finally {
            unmount(full);
        }
    }

    /**
     * Unmounts the test's tmpfs. The failed session's archive files may be closed a moment after it reported (the
     * sink's abort runs on its own thread): retry for a few seconds, then detach it lazily so no mount outlives
     * the test either way.
     */
    private static void unmount(Path mountPoint) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            var r = ProcessRunner.command("umount", mountPoint.toString()).timeout(Duration.ofSeconds(30)).run();
            if (r.exitCode() == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                ProcessRunner.command("umount", "-l", mountPoint.toString()).timeout(Duration.ofSeconds(30)).run()
                        .requireSuccess();
                throw new AssertionError("tmpfs " + mountPoint + " still busy 10 s after the backup failed: "
                        + r.output().strip());
            }
            Thread.sleep(100);
        }
    }
}
