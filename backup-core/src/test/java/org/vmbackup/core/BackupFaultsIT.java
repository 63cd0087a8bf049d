package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.nbd.NbdServer;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.RawQmp;

/** Each fault fails the session naming the cause, leaves no archive, keeps the guest running and QEMU clean. */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class BackupFaultsIT {
    private static final Logger log = LoggerFactory.getLogger(BackupFaultsIT.class);
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    /**
     * The disks' copy rate during a fault test: the 4 and 8 MiB disks then take 30-60 s to copy, so the fault
     * fired once copying started always meets a running backup. A throttle rather than an archive that holds
     * writes back: QEMU may wait for its in-flight writes to the archive (a drain) with its monitor blocked, and a
     * held write then shows as a QMP timeout instead of the fault under test (one such CI run: "QEMU did not
     * answer block-job-set-speed").
     */
    private static final long THROTTLE = 256 << 10;

    /** Runs a throttled session that calls {@code fault} once copying started. */
    private static CompletableFuture<BackupResult> runWithFault(TestVm vm, ArchiveTarget target,
            BackupSession.Builder extra, Runnable fault) {
        AtomicBoolean fired = new AtomicBoolean();
        return extra.qmpSocket(vm.qmpSocket()).target(target).bandwidthLimit(THROTTLE).progress(p -> {
            if (p.phase() == BackupPhase.COPYING && fired.compareAndSet(false, true)) {
                CompletableFuture.runAsync(fault);
            }
        }).build().start();
    }

    private static BackupException failure(CompletableFuture<BackupResult> f) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> f.get(120, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(BackupException.class);
        log.info("session failed as expected: {}", e.getCause().getMessage());
        return (BackupException) e.getCause();
    }

    private void assertNoArchive() throws IOException {
        try (var s = Files.list(tmp)) {
            assertThat(s.filter(p -> !p.getFileName().toString().equals("full")).toList()).isEmpty();
        }
    }

    @Test
    void qemuKilledMidBackup() throws Exception {
        try (TestVm vm = TestVm.start(31, 128, 8 * MIB, 4 * MIB)) {
            CompletableFuture<BackupResult> f = runWithFault(vm, ArchiveTarget.of(tmp.resolve("a.vma")),
                    BackupSession.builder(), () -> vm.qemu.process().destroyForcibly());
            assertThat(failure(f)).hasMessageContaining("QEMU connection lost");
            assertThat(vm.qemu.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertNoArchive();
        }
    }

    @Test
    void archiveDiskFull() throws Exception {
        Path full = Files.createDirectory(tmp.resolve("full"));
        ProcessRunner.command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", full.toString())
                .timeout(Duration.ofSeconds(30)).run().requireSuccess();
        try (TestVm vm = TestVm.start(32, 128, 12 * MIB, 8 * MIB)) {
            CompletableFuture<BackupResult> f = BackupSession.builder().qmpSocket(vm.qmpSocket())
                    .target(full.resolve("a.vma")).build().start();
            assertThat(failure(f)).hasMessageContaining("No space left on device");
            try (var s = Files.list(full)) {
                assertThat(s.toList()).isEmpty();
            }
            vm.assertClean();
        } finally {
            ProcessRunner.command("umount", full.toString()).timeout(Duration.ofSeconds(30)).run();
        }
    }

    @Test
    void nbdConnectionDropped() throws Exception {
        try (TestVm vm = TestVm.start(33, 128, 8 * MIB, 4 * MIB)) {
            AtomicReference<NbdServer> server = new AtomicReference<>();
            CompletableFuture<BackupResult> f = runWithFault(vm, ArchiveTarget.of(tmp.resolve("a.vma")),
                    BackupSession.builder().nbdServerListener(server::set),
                    () -> server.get().removeExport("drive-hd0").join());
            assertThat(failure(f)).hasMessageContaining("drive-hd0");
            assertNoArchive();
            vm.assertClean();
        }
    }

    @Test
    void aRefusedTransactionFailsTheSessionAndTheSnapshotSentWithItIsDrained() throws Exception {
        try (TestVm vm = TestVm.start(36, 128, 8 * MIB)) {
            RawQmp c = vm.check();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"node-name\": \"([^\"]+)\"")
                    .matcher(c.execute("{\"execute\":\"query-block\"}"));
            assertThat(m.find()).isTrue();
            // a mirror job on the disk makes QEMU refuse the backup transaction ("block device is in use")
            assertThat(c.execute("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"null-co\","
                    + "\"node-name\":\"blocker-t\",\"size\":" + 8 * MIB + "}}")).contains("\"return\"");
            assertThat(c.execute("{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":\"blocker\","
                    + "\"device\":\"" + m.group(1) + "\",\"target\":\"blocker-t\",\"sync\":\"full\",\"speed\":1}}"))
                    .contains("\"return\"");
            CompletableFuture<BackupResult> f = BackupSession.builder().qmpSocket(vm.qmpSocket())
                    .target(tmp.resolve("a.vma")).build().start();
            assertThat(failure(f)).hasMessageContaining("in use by block job");
            assertNoArchive();
            // migrate went out together with the refused transaction: that snapshot ran to its end, not cut off
            assertThat(c.execute("{\"execute\":\"query-migrate\"}")).doesNotContain("\"active\"")
                    .doesNotContain("\"setup\"");
            c.execute("{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":\"blocker\",\"force\":true}}");
            for (int i = 0; i < 500 && !c.execute("{\"execute\":\"query-jobs\"}").equals("{\"return\": []}"); i++) {
                Thread.sleep(20);
                c.execute("{\"execute\":\"job-dismiss\",\"arguments\":{\"id\":\"blocker\"}}");
            }
            assertThat(c.execute("{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"blocker-t\"}}"))
                    .contains("\"return\"");
            vm.assertClean();
        }
    }

    @Test
    void sinkThrowing() throws Exception {
        try (TestVm vm = TestVm.start(34, 128, 8 * MIB, 4 * MIB)) {
            FailingTarget failing = new FailingTarget(ArchiveTarget.of(tmp.resolve("a.vma")));
            CompletableFuture<BackupResult> f = runWithFault(vm, failing, BackupSession.builder(),
                    () -> failing.failWith = new IOException("simulated archive failure"));
            assertThat(failure(f)).hasMessageContaining("simulated archive failure").hasMessageMatching(
                    "(?s).*disk drive-hd[01] at offset \\d+.*");
            assertNoArchive();
            vm.assertClean();
        }
    }

    @Test
    void sinkThrowingInADirectoryArchiveWithoutVmstate() throws Exception {
        try (TestVm vm = TestVm.start(35, 128, 8 * MIB)) {
            FailingTarget failing = new FailingTarget(ArchiveTarget.directory(tmp.resolve("dir")));
            CompletableFuture<BackupResult> f = runWithFault(vm, failing,
                    BackupSession.builder().includeVmstate(false),
                    () -> failing.failWith = new IOException("simulated archive failure"));
            assertThat(failure(f)).hasMessageContaining("simulated archive failure");
            assertNoArchive();
            vm.assertClean();
        }
    }

    /**
     * Cancels sessions at random moments (seeded: {@code -Dcancel.seed=N} replays a run) into a VMA file or a
     * directory archive, with and without VM state: each ends "cancelled" (or completed first), leaves no archive
     * under its final name, and QEMU clean (running, no job, node, export, migration or capability of ours).
     */
    @Test
    void cancelAtRandomMoments() throws Exception {
        long seed = Long.getLong("cancel.seed", 99);
        Random rnd = new Random(seed);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        int cancelled = 0;
        int completed = 0;
        // One QMP connection for all sessions (the session must leave it usable): reconnecting to QEMU's
        // monitor socket dozens of times a second occasionally meets a 10 s greeting delay from QEMU.
        try (TestVm vm = TestVm.start(36, 128, 8 * MIB, 4 * MIB);
                QmpClient client = QmpClient.connect(vm.qmpSocket()).get(30, TimeUnit.SECONDS)) {
            for (int i = 0; System.nanoTime() < deadline || i < 4; i++) {
                boolean directory = rnd.nextInt(3) == 0;
                Path archive = tmp.resolve(directory ? "c" + i : "c" + i + ".vma");
                boolean vmstate = rnd.nextInt(4) != 0;
                int delayMs = rnd.nextInt(i < 2 ? 50 : 900);
                String what = String.format("seed %d, iteration %d (%s, vmstate %s, cancel after %d ms)", seed, i,
                        directory ? "directory archive" : "VMA", vmstate, delayMs);
                BackupSession s = BackupSession.builder().qmp(client).includeVmstate(vmstate)
                        .target(archive).build();
                CompletableFuture<BackupResult> f = s.start();
                Thread.sleep(delayMs);
                s.cancel();
                try {
                    f.get(120, TimeUnit.SECONDS);
                    completed++;
                    assertThat(archive).as(what).exists();
                    FileTreesForTests.delete(archive);
                } catch (ExecutionException e) {
                    cancelled++;
                    assertThat(e.getCause()).as("%s; QEMU now says %s", what,
                            vm.check().execute("{\"execute\":\"query-status\"}"))
                            .isInstanceOf(BackupException.class).hasMessageContaining("cancelled");
                }
                assertNoArchive();
                vm.assertClean();
            }
        }
        log.info("cancel loop (seed {}): {} cancelled, {} completed first", seed, cancelled, completed);
        assertThat(cancelled).isPositive();
    }

    /** Deletes a file or a directory tree. */
    private static final class FileTreesForTests {
        static void delete(Path p) throws IOException {
            if (Files.isDirectory(p)) {
                try (var s = Files.list(p)) {
                    for (Path c : s.toList()) {
                        delete(c);
                    }
                }
            }
            Files.delete(p);
        }
    }

    @Test
    void refusesUnknownDiskByNameBeforeTouchingQemu() throws Exception {
        try (TestVm vm = TestVm.start(37, 128, 4 * MIB)) {
            CompletableFuture<BackupResult> f = BackupSession.builder().qmpSocket(vm.qmpSocket()).disk("nope")
                    .target(tmp.resolve("x.vma")).build().start();
            assertThat(failure(f)).hasMessageContaining("no disk named nope").hasMessageContaining("hd0");
            assertNoArchive();
            vm.assertClean();
        }
    }

}
