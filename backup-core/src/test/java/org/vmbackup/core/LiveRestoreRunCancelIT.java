package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/**
 * A live restore cancelled after its start (the guest already runs on the archive): at seeded random moments of the
 * start and of the background copy, through the session and through the run. The copy jobs end, the archive is no
 * longer served, QEMU stays up, and the run's completion says cancelled.
 */
@Timeout(600)
class LiveRestoreRunCancelIT {
    private static final Logger log = LoggerFactory.getLogger(LiveRestoreRunCancelIT.class);

    @TempDir
    Path tmp;

    @Test
    void cancelAtRandomMomentsAfterTheStartEndsTheCopyAndReleasesTheArchive() throws Exception {
        RestoreTestVm src = new RestoreTestVm(11);
        Path archive = tmp.resolve("vm.vma");
        try (QemuProcess vm = src.startSource()) {
            RestoreTestVm.backup(vm, archive);
        }
        long seed = Long.getLong("vmbackup.test.seed", System.nanoTime());
        log.info("seed {}", seed);
        Random rnd = new Random(seed);
        for (int round = 0; round < 3; round++) {
            boolean viaSession = round != 1;
            long delayMs = round == 0 ? 0 : rnd.nextInt(3000);
            Path images = tmp.resolve("images" + round);
            LiveRestoreSession session = LiveRestoreSession.builder().archive(archive).imageDirectory(images)
                    .bandwidthLimit(512 << 10).build();
            LiveRestorePlan plan = session.prepare().get(60, TimeUnit.SECONDS);
            try (QemuProcess target = RestoreTestVm.startLiveTarget(plan)) {
                var starting = plan.start(target.qmpSocket());
                LiveRestoreRun run;
                boolean cancelled;
                if (viaSession) {
                    Thread.sleep(delayMs);
                    cancelled = session.cancel(); // before QEMU was reached, during the start or during the copy
                    try {
                        run = starting.get(120, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        // the cancel came before the start reached QEMU: the plan was discarded instead
                        log.info("round {}: cancelled before the start ({}); QEMU alive: {}; output: {}", round,
                                e.getCause().toString(), target.isAlive(), target.output());
                        assertThat(cancelled).isTrue();
                        assertThat(plan.nbdSocket()).doesNotExist();
                        assertThat(plan.images().values()).allMatch(i -> !Files.exists(i));
                        continue;
                    }
                } else {
                    run = starting.get(120, TimeUnit.SECONDS);
                    Thread.sleep(delayMs);
                    cancelled = run.cancel();
                }
                log.info("round {}: cancel {} ms after the start via the {}: {}", round, delayMs,
                        viaSession ? "session" : "run", cancelled);
                assertThat(cancelled).as("the copy of 10 MiB at 512 KiB/s runs for ~20 s").isTrue();
                try {
                    run.completion().get(120, TimeUnit.SECONDS);
                    throw new AssertionError("a cancelled live restore completed");
                } catch (ExecutionException | CancellationException e) {
                    Throwable c = e instanceof ExecutionException ? e.getCause() : e;
                    assertThat(c).isInstanceOf(CancellationException.class).hasMessageContaining("cancelled");
                }
                assertThat(run.cancel()).as("a second cancel is too late").isFalse();
                assertThat(session.cancel()).isFalse();
                assertThat(plan.nbdSocket()).as("the archive is no longer served").doesNotExist();
                try (RawQmp qmp = RawQmp.connect(target.dir().resolve("test.sock"))) {
                    assertThat(qmp.execute("{\"execute\":\"query-block-jobs\"}")).doesNotContain("restore-");
                    assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"return\"");
                }
                assertThat(target.isAlive()).as("QEMU stays up").isTrue();
                run.close().get(60, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aCancelAfterTheCopyEndedIsTooLate() throws Exception {
        RestoreTestVm src = new RestoreTestVm(12);
        Path archive = tmp.resolve("vm.vma");
        try (QemuProcess vm = src.startSource()) {
            RestoreTestVm.backup(vm, archive);
        }
        LiveRestoreSession session = LiveRestoreSession.builder().archive(archive)
                .imageDirectory(tmp.resolve("images")).build();
        LiveRestorePlan plan = session.prepare().get(60, TimeUnit.SECONDS);
        try (QemuProcess target = RestoreTestVm.startLiveTarget(plan)) {
            LiveRestoreRun run = plan.start(target.qmpSocket()).get(120, TimeUnit.SECONDS);
            LiveRestoreResult done = run.completion().get(120, TimeUnit.SECONDS);
            assertThat(done.disks()).hasSize(2);
            assertThat(run.cancel()).isFalse();
            assertThat(session.cancel()).isFalse();
            try (RawQmp qmp = RawQmp.connect(target.dir().resolve("test.sock"))) {
                assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
            }
        }
    }
}
