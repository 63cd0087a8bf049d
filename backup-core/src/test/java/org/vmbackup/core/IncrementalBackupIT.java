package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.RetentionPolicy;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.StoreOptions;
import org.vmbackup.store.VerifyReport;

/**
 * Incremental-forever backups of a real QEMU (a qcow2 and a raw disk) into a chunk store: each snapshot of a chain
 * reads back exactly as the disks were at its instant while QEMU sends only the clusters written since the last
 * one; a disk whose dirty bitmap cannot prove its parent falls back to a full copy and says why; a cancelled backup
 * leaves the next one correct.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class IncrementalBackupIT {
    private static final int DISK = 8 << 20;

    @TempDir
    Path tmp;

    private record Taken(BackupResult result, SnapshotId id, List<byte[]> content) {
    }

    private static Taken backUp(IncrementalVm vm, StoreTarget target, boolean vmstate) throws Exception {
        List<byte[]> content = vm.backedUp();
        BackupResult r = BackupSession.builder().qmpSocket(vm.qmpSocket()).target(target).includeVmstate(vmstate)
                .build().start().get(180, TimeUnit.SECONDS);
        Thread.sleep(1100); // snapshot ids are whole seconds
        return new Taken(r, target.committed().orElseThrow().id(), content);
    }

    private static void assertRestores(ChunkStore store, Taken t) throws Exception {
        try (ArchiveSource s = ArchiveSource.snapshot(store, t.id())) {
            for (int i = 0; i < t.content().size(); i++) {
                assertThat(ArchiveSourceFixtures.readRandomAccess(s, i)).as("disk %d of %s", i, t.id())
                        .isEqualTo(t.content().get(i));
            }
        }
    }

    /** Our bitmap names (this store, this VM) in a {@code query-block} answer. */
    private static List<String> ours(String queryBlock, ChunkStore store, String vm) {
        List<String> out = new ArrayList<>();
        String prefix = "vmbackup-" + store.id().substring(0, 8) + "-" + vm + "-";
        for (int i = queryBlock.indexOf(prefix); i >= 0; i = queryBlock.indexOf(prefix, i + 1)) {
            out.add(queryBlock.substring(i, queryBlock.indexOf('"', i)));
        }
        return out;
    }

    @Test
    void aChainOfFiveSnapshotsEachRestoresItsInstantAndSendsOnlyTheChangedClusters() throws Exception {
        try (ChunkStore store = ChunkStore.init(tmp.resolve("store"), StoreOptions.defaults());
                IncrementalVm vm = IncrementalVm.create(tmp, 7, DISK)) {
            StoreTarget target = ArchiveTarget.store(store, "web1");
            List<Taken> chain = new ArrayList<>();
            chain.add(backUp(vm, target, true));
            assertThat(chain.get(0).result().disks()).allSatisfy(d -> {
                assertThat(d.incremental()).isFalse();
                assertThat(d.mode()).isEqualTo("full: first backup of the VM into the store");
            });
            for (int n = 1; n < 5; n++) {
                // a run of whole clusters, a few scattered small writes, one across a cluster border
                vm.write(0, n * 1_048_576L, 3 * 65_536, 0x10 + n);
                vm.write(1, DISK - n * 200_000L, 4096, 0x20 + n);
                vm.write(1, DISK / 4 + 1000L * n, 512, 0x30 + n); // into the zero quarter
                vm.write(0, 65_536L * (40 + n) - 100, 200, 0x40 + n);
                long[] dirty = {vm.dirtyBytes(0), vm.dirtyBytes(1)};
                Taken t = backUp(vm, target, n % 2 == 1); // with and without the VM state's guest pause
                chain.add(t);
                for (int i = 0; i < 2; i++) {
                    DiskResult d = t.result().disks().get(i);
                    assertThat(d.incremental()).as(d.mode()).isTrue();
                    assertThat(d.mode()).isEqualTo("incremental from " + chain.get(n - 1).id());
                    assertThat(d.dataBytes() + d.zeroBytes()).as("bytes QEMU sent for disk %d", i)
                            .isPositive().isLessThanOrEqualTo(dirty[i]);
                    assertThat(d.bytesNew()).isPositive().isLessThan(DISK / 2);
                }
                String bitmaps = vm.bitmaps();
                assertThat(ours(bitmaps, store, "web1")).as("one bitmap per disk, the new snapshot's")
                        .hasSize(2).allMatch(b -> b.endsWith(t.id().instantText()));
                assertThat(bitmaps).contains("\"granularity\": " + IncrementalVm.GRANULARITY);
            }
            for (Taken t : chain) {
                assertRestores(store, t);
            }
            VerifyReport v = store.verify(chain.stream().map(Taken::id).toList());
            assertThat(v.ok()).as(v.damage().toString()).isTrue();
            vm.quit();
            assertThat(vm.image(0)).as("the model is the qcow2 image").isEqualTo(vm.model.get(0));
            assertThat(vm.image(1)).as("the model is the raw image").isEqualTo(vm.model.get(1));
        }
    }

    @Test
    void restartsAKillAndACancelFallBackOrStayIncrementalAsTheBitmapsProve() throws Exception {
        try (ChunkStore store = ChunkStore.init(tmp.resolve("store"), StoreOptions.defaults());
                IncrementalVm vm = IncrementalVm.create(tmp, 8, DISK)) {
            StoreTarget target = ArchiveTarget.store(store, "db");
            Taken a = backUp(vm, target, false);

            // a clean restart: the qcow2 bitmap was saved in the image, the raw disk's was in memory only
            vm.write(0, 3 << 20, 8192, 0x51);
            vm.quit();
            vm.start();
            vm.write(1, 5 << 20, 8192, 0x52);
            Taken b = backUp(vm, target, false);
            assertThat(b.result().disks().get(0).mode()).isEqualTo("incremental from " + a.id());
            assertThat(b.result().disks().get(0).dataBytes()).isLessThanOrEqualTo(IncrementalVm.GRANULARITY);
            assertThat(b.result().disks().get(1).mode()).startsWith("full: bitmap missing");
            assertRestores(store, b);

            // SIGKILL: a bitmap QEMU loaded from the image (so after a restart) stays marked in use there, and
            // QEMU loads it inconsistent next time
            vm.quit();
            vm.start();
            vm.write(0, 1 << 20, 4096, 0x53);
            vm.kill();
            vm.start();
            Taken c = backUp(vm, target, false);
            assertThat(c.result().disks().get(0).mode()).startsWith("full: bitmap vmbackup-")
                    .endsWith("is inconsistent (QEMU stopped without saving it)");
            assertThat(c.result().disks().get(1).mode()).startsWith("full: bitmap missing");
            assertRestores(store, c);
            assertThat(ours(vm.bitmaps(), store, "db")).as("the inconsistent bitmap was removed after the backup")
                    .hasSize(2).allMatch(x -> x.endsWith(c.id().instantText()));

            // a backup cancelled half-way: the new bitmaps go, the old ones still hold every write since c
            for (int i = 0; i < 2; i++) {
                vm.write(i, 0, 6 << 20, 0x60 + i);
            }
            vm.backedUp(); // the model's dirty set restarts here, but the bitmaps of c must still mark it all
            CountDownLatch started = new CountDownLatch(1);
            BackupSession cancelled = BackupSession.builder().qmpSocket(vm.qmpSocket()).target(target)
                    .includeVmstate(false).bandwidthLimit(1 << 20).progressInterval(java.time.Duration.ofMillis(100))
                    .progress(p -> {
                        if (p.doneBytes() > (1 << 20)) {
                            started.countDown();
                        }
                    }).build();
            CompletableFuture<BackupResult> running = cancelled.start();
            assertThat(started.await(120, TimeUnit.SECONDS)).as("the backup got under way").isTrue();
            cancelled.cancel();
            assertThatThrownBy(() -> running.get(120, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasMessageContaining("cancelled");
            assertThat(ours(vm.bitmaps(), store, "db")).as("only c's bitmaps are left").hasSize(2)
                    .allMatch(x -> x.endsWith(c.id().instantText()));
            Thread.sleep(1100);
            vm.write(1, 7 << 20, 4096, 0x70);
            Taken e = backUp(vm, target, false);
            assertThat(e.result().disks()).allSatisfy(d -> assertThat(d.mode()).isEqualTo("incremental from "
                    + c.id()));
            assertThat(e.result().disks()).as("c's bitmaps still marked what the cancelled backup was copying")
                    .allSatisfy(d -> assertThat(d.dataBytes()).isGreaterThanOrEqualTo(6 << 20));
            assertRestores(store, e);

            // --full forces full copies and keeps the chain going
            vm.write(0, 2 << 20, 4096, 0x71);
            Taken f = backUp(vm, target.full(), false);
            assertThat(f.result().disks()).allSatisfy(d -> assertThat(d.mode()).isEqualTo("full: full copy requested"));
            assertRestores(store, f);
            vm.write(0, 2 << 20, 4096, 0x72);
            Taken g = backUp(vm, target, false);
            assertThat(g.result().disks()).allSatisfy(d -> assertThat(d.incremental()).isTrue());
            assertRestores(store, g);
        }
    }

    @Test
    void aResizedDiskAnAddedDiskAndPrunedParentsFallBackAndLaterSnapshotsStillRestore() throws Exception {
        Path dir = tmp.resolve("store");
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults());
                IncrementalVm vm = IncrementalVm.create(tmp, 9, DISK)) {
            StoreTarget target = ArchiveTarget.store(store, "app");
            Taken a = backUp(vm, target, false);
            vm.write(0, 4 << 20, 65_536, 0x81);
            vm.resize(1, DISK + (4 << 20));
            vm.write(1, DISK + (1 << 20), 4096, 0x82); // into the grown part
            Taken b = backUp(vm, target, false);
            assertThat(b.result().disks().get(0).mode()).isEqualTo("incremental from " + a.id());
            assertThat(b.result().disks().get(1).mode()).isEqualTo("full: disk resized (" + DISK + " bytes in "
                    + a.id() + ", now " + (DISK + (4 << 20)) + ")");
            assertRestores(store, b);

            // a disk added (QEMU started again with it): a full copy of it alone
            vm.quit();
            vm.addDisk(10, 4 << 20);
            vm.start();
            vm.write(0, 5 << 20, 4096, 0x83);
            Taken c = backUp(vm, target, false);
            assertThat(c.result().disks().get(0).mode()).isEqualTo("incremental from " + b.id());
            assertThat(c.result().disks().get(1).mode()).startsWith("full: bitmap missing");
            assertThat(c.result().disks().get(2).mode()).isEqualTo("full: new disk (not in parent snapshot " + b.id()
                    + ")");
            assertRestores(store, c);
            vm.write(2, 0, 4096, 0x84);
            Taken d = backUp(vm, target, false);
            assertThat(d.result().disks()).allSatisfy(x -> assertThat(x.mode()).isEqualTo("incremental from "
                    + c.id()));

            // every parent of d pruned and collected: d restores on its own, and the chain goes on from it
            assertThat(store.prune("app", new RetentionPolicy(1, 0, 0, 0), false).removed())
                    .containsExactlyInAnyOrder(a.id(), b.id(), c.id());
            assertThat(store.gc(java.time.Duration.ZERO).chunksRemoved()).isPositive();
            assertRestores(store, d);
            vm.write(1, 0, 4096, 0x85);
            Taken e = backUp(vm, target, false);
            assertThat(e.result().disks()).allSatisfy(x -> assertThat(x.incremental()).isTrue());
            assertRestores(store, e);

            // the snapshot the bitmaps prove is gone from the store (deleted behind the library's back)
            try (var files = java.nio.file.Files.walk(dir.resolve("snapshots/app"), 1)) {
                Path newest = files.filter(f -> !f.equals(dir.resolve("snapshots/app")))
                        .max(java.util.Comparator.naturalOrder()).orElseThrow();
                try (var gone = java.nio.file.Files.walk(newest)) {
                    for (Path f : gone.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        java.nio.file.Files.delete(f);
                    }
                }
            }
            assertThat(store.list(java.util.Optional.of("app"))).extracting(x -> x.id()).containsExactly(d.id());
            vm.write(0, 0, 4096, 0x86);
            Taken f = backUp(vm, target, false);
            assertThat(f.result().disks()).allSatisfy(x -> assertThat(x.mode()).startsWith("full: the snapshot "
                    + "its bitmap").endsWith("is no longer in the store (pruned?)"));
            assertRestores(store, f);
            VerifyReport v = store.verify(store.list(java.util.Optional.empty()).stream().map(x -> x.id()).toList());
            assertThat(v.ok()).as(v.damage().toString()).isTrue();
        }
    }
}
