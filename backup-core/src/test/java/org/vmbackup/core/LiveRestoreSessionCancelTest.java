package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LiveRestoreSession#cancel()} before the guest runs (qemu-img creates the images; no QEMU started): before
 * {@code prepare()}, and at seeded random moments during and after it. Either {@code prepare()} fails with a
 * {@link CancellationException}, or it delivered a plan that the cancel discarded; both leave no image and no NBD
 * socket, and a discarded plan cannot be started.
 */
class LiveRestoreSessionCancelTest {
    @TempDir
    Path tmp;

    private LiveRestoreSession session(String name) {
        return LiveRestoreSession.builder().archive(RestoreVectors.dir().resolve("two-disks.vma"))
                .imageDirectory(tmp.resolve(name)).socketDirectory(tmp.resolve(name + "-s")).build();
    }

    @Test
    void cancelBeforePrepareCreatesNothing() throws Exception {
        LiveRestoreSession s = session("before");
        assertThat(s.cancel()).isTrue();
        assertThatThrownBy(() -> s.prepare().get(1, TimeUnit.MINUTES)).isInstanceOf(CancellationException.class);
        assertThat(tmp.resolve("before")).doesNotExist();
        assertThatThrownBy(s::prepare).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void cancelAtRandomMomentsLeavesNoImageAndNoSocket() throws Exception {
        session("warm").prepare().get(1, TimeUnit.MINUTES).close().get(1, TimeUnit.MINUTES); // classes loaded
        long t0 = System.nanoTime();
        LiveRestorePlan whole = session("whole").prepare().get(1, TimeUnit.MINUTES);
        long prepareNanos = System.nanoTime() - t0;
        whole.close().get(1, TimeUnit.MINUTES);
        Random r = new Random(14);
        int duringPrepare = 0;
        for (int i = 0; i < 10; i++) {
            String name = "run" + i;
            LiveRestoreSession s = session(name);
            CompletableFuture<LiveRestorePlan> f = s.prepare();
            // the first cancel at once (during prepare() even on a loaded machine, where a measured prepare time
            // says little about the next one), the others at random moments up to 1.5 prepare times
            TimeUnit.NANOSECONDS.sleep(i == 0 ? 0 : (long) (r.nextDouble() * 1.5 * prepareNanos));
            boolean wasDone = f.isDone();
            assertThat(s.cancel()).as("nothing was started, so never too late").isTrue();
            try {
                LiveRestorePlan plan = f.get(1, TimeUnit.MINUTES);
                // delivered before the cancel: discarded by it
                assertThat(plan.images().values()).noneMatch(Files::exists);
                assertThatThrownBy(() -> plan.start(tmp.resolve("no-qemu.sock")).get(1, TimeUnit.MINUTES))
                        .isInstanceOf(CancellationException.class);
            } catch (CancellationException e) {
                duringPrepare += wasDone ? 0 : 1;
            }
            assertEmpty(tmp.resolve(name));
            assertEmpty(tmp.resolve(name + "-s"));
        }
        assertThat(duringPrepare).as("some cancels came during prepare()").isPositive();
    }

    private static void assertEmpty(Path dir) throws Exception {
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                assertThat(files).as(dir + " left empty").isEmpty();
            }
        }
    }
}
