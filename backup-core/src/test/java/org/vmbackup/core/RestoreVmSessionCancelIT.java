package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/**
 * {@link RestoreVmSession#cancel()} at seeded moments of a restore into a QEMU started with {@code -incoming defer}:
 * before the start, while the disks are written, while the VM state flows, and at random moments. Each time the
 * future fails with a {@link CancellationException}, the work directory is left empty (no spool, no socket, no raw
 * copy), and QEMU is never left running a half-loaded guest: before the VM state flows it still waits for its
 * incoming migration (status {@code inmigrate}, no block job); once the stream was broken, its incoming migration
 * failed (QEMU exits, or is at least not running the guest).
 */
class RestoreVmSessionCancelIT {
    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;

    @Test
    void cancelAtAnyMomentLeavesQemuCleanAndNoFile() throws Exception {
        RestoreTestVm src = new RestoreTestVm(21);
        Path archive = tmp.resolve("vm.vma");
        try (QemuProcess vm = src.startSource()) {
            RestoreTestVm.backup(vm, archive);
        }
        Random r = new Random(2026);
        // before the start
        try (QemuProcess target = RestoreTestVm.startTarget(RestoreTestVm.DISK0, RestoreTestVm.DISK1)) {
            Path work = Files.createDirectories(tmp.resolve("work-before"));
            RestoreVmSession s = session(archive, target, work, false, 0);
            assertThat(s.cancel()).isTrue();
            assertCancelled(s.start(), work);
            assertStillWaiting(target);
        }
        // while the disks are written: ~8 MiB of disk data at 2 MiB/s, from the file and from a stream
        for (boolean stream : new boolean[] {false, true}) {
            try (QemuProcess target = RestoreTestVm.startTarget(RestoreTestVm.DISK0, RestoreTestVm.DISK1)) {
                Path work = Files.createDirectories(tmp.resolve("work-copy-" + stream));
                RestoreVmSession s = session(archive, target, work, stream, 2 * MIB);
                CompletableFuture<RestoreVmResult> f = s.start();
                Thread.sleep(300 + r.nextInt(1500));
                assertThat(f).as("still writing the disks").isNotDone();
                assertThat(s.cancel()).isTrue();
                assertCancelled(f, work);
                assertStillWaiting(target);
            }
        }
        // while the VM state flows: QEMU reports its incoming migration active (on a second monitor: the session
        // holds the first)
        try (QemuProcess target = RestoreTestVm.startTarget(RestoreTestVm.DISK0, RestoreTestVm.DISK1, "-qmp",
                "unix:{dir}/watch.sock,server=on,wait=off");
                RawQmp qmp = RawQmp.connect(target.dir().resolve("watch.sock"))) {
            Path work = Files.createDirectories(tmp.resolve("work-feed"));
            RestoreVmSession s = session(archive, target, work, false, 16 * MIB);
            CompletableFuture<RestoreVmResult> f = s.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!qmp.execute("{\"execute\":\"query-migrate\"}").contains("\"active\"")) {
                assertThat(System.nanoTime()).as("the incoming migration became active").isLessThan(deadline);
                assertThat(f).as("restore still going").isNotDone();
                Thread.sleep(20);
            }
            assertThat(s.cancel()).isTrue();
            assertCancelled(f, work);
            assertNotRunning(target);
        }
        // random moments over an unlimited run: each ends cancelled or, too late, as a complete restore
        for (int i = 0; i < 3; i++) {
            try (QemuProcess target = RestoreTestVm.startTarget(RestoreTestVm.DISK0, RestoreTestVm.DISK1)) {
                Path work = Files.createDirectories(tmp.resolve("work-random-" + i));
                RestoreVmSession s = session(archive, target, work, i % 2 == 1, 0);
                CompletableFuture<RestoreVmResult> f = s.start();
                Thread.sleep(r.nextInt(3000));
                if (s.cancel()) {
                    assertCancelled(f, work);
                    assertNotRunning(target);
                } else {
                    assertThat(f.get(2, TimeUnit.MINUTES).running()).isTrue();
                    try (RawQmp qmp = RawQmp.connect(target.qmpSocket())) {
                        assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"running\"");
                    }
                }
            }
        }
    }

    private static RestoreVmSession session(Path archive, QemuProcess target, Path work, boolean stream, long limit)
            throws Exception {
        RestoreVmSession.Builder b = RestoreVmSession.builder().qmpSocket(target.qmpSocket()).workDirectory(work)
                .bandwidthLimit(limit);
        if (stream) {
            InputStream in = Files.newInputStream(archive);
            b.archive(in);
        } else {
            b.archive(archive);
        }
        return b.build();
    }

    private static void assertCancelled(CompletableFuture<RestoreVmResult> f, Path work) throws Exception {
        assertThatThrownBy(() -> f.get(1, TimeUnit.MINUTES)).isInstanceOf(CancellationException.class);
        try (Stream<Path> files = Files.list(work)) {
            assertThat(files).as("work directory left empty").isEmpty();
        }
    }

    /** Untouched by the cancelled session: still waiting for its migration, no job, no node of ours. */
    private static void assertStillWaiting(QemuProcess target) throws Exception {
        try (RawQmp qmp = RawQmp.connect(target.qmpSocket())) {
            assertThat(qmp.execute("{\"execute\":\"query-status\"}")).contains("\"inmigrate\"");
            assertThat(qmp.execute("{\"execute\":\"query-block-jobs\"}")).contains("\"return\": []");
            // only the command line's drives (raw over file, auto-named): no node added by a session
            String nodes = qmp.execute("{\"execute\":\"query-named-block-nodes\",\"arguments\":{\"flat\":true}}");
            assertThat(nodes.split("\"node-name\": \"#block", -1)).hasSize(5);
            assertThat(nodes.split("\"node-name\"", -1)).hasSize(5);
        }
    }

    /** A broken incoming migration: QEMU exits, or at least does not run the guest. */
    private static void assertNotRunning(QemuProcess target) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (target.isAlive() && System.nanoTime() < deadline) {
            try (RawQmp qmp = RawQmp.connect(target.qmpSocket())) {
                String status = qmp.execute("{\"execute\":\"query-status\"}");
                assertThat(status).doesNotContain("\"status\": \"running\"");
                if (status.contains("\"paused\"") || status.contains("\"postmigrate\"")) {
                    return; // loaded, not resumed
                }
            } catch (java.io.IOException e) {
                // QEMU going away
            }
            Thread.sleep(100);
        }
        assertThat(target.isAlive()).as("QEMU exited after its incoming migration broke").isFalse();
    }
}
