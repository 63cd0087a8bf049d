package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.RunningProcess;

/** Store users in processes of their own: killed with SIGKILL mid-write and mid-gc, and writing side by side. */
class CrashTest {
    private static final int SIZE = 6 << 20;
    @TempDir
    Path tmp;

    private static ProcessRunner main(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-cp", System.getProperty("java.class.path"), StoreProcessMain.class.getName()));
        cmd.addAll(List.of(args));
        return ProcessRunner.command(cmd).timeout(Duration.ofSeconds(90));
    }

    private Path store() throws Exception {
        Path dir = tmp.resolve("s");
        ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK)).close();
        return dir;
    }

    private static void assertReadsBack(ChunkStore store, String vm, int seed) throws Exception {
        try (SnapshotReader r = store.open(StoreFixtures.id(vm, seed))) {
            assertThat(StoreFixtures.readAll(r, 0, new Random(seed))).isEqualTo(StoreFixtures.image(new Random(seed), SIZE));
        }
    }

    @Test
    void aWriterKilledMidWriteLeavesAStoreThatVerifiesAndNoSnapshot() throws Exception {
        Path dir = store();
        for (int round = 0; round < 3; round++) {
            try (RunningProcess p = main("write", dir.toString(), "k", String.valueOf(round), String.valueOf(SIZE), "3").start()) {
                p.awaitLine(l -> l.equals("WRITING"), Duration.ofSeconds(60));
                Thread.sleep(round * 40L);
                p.killTree();
            }
            try (ChunkStore s = ChunkStore.open(dir, Optional.empty())) {
                assertThat(s.list(Optional.empty())).isEmpty();
                assertThat(s.verify(List.of()).ok()).isTrue();
            }
        }
        assertThat(Files.list(dir.resolve("writers")).count()).isEqualTo(3);
        // the same id can be written again at once: the killed writer's marker is recognized as stale
        ProcessResult ok = main("write", dir.toString(), "k", "0", String.valueOf(SIZE), "0").run();
        assertThat(ok.stdout()).contains("COMMITTED k/");
        // the other dead writers' markers and chunks are leftovers for gc
        try (ChunkStore s = ChunkStore.open(dir, Optional.empty())) {
            GcResult g = s.gc(Duration.ZERO);
            assertThat(g.leftoversRemoved()).isEqualTo(2);
            assertThat(!Files.exists(dir.resolve("writers")) || Files.list(dir.resolve("writers")).count() == 0).isTrue();
            assertReadsBack(s, "k", 0);
            assertThat(s.verify(List.of()).ok()).isTrue();
        }
    }

    @Test
    void aGcKilledAtAnyPointLeavesAStoreThatVerifies() throws Exception {
        Path dir = store();
        assertThat(main("write", dir.toString(), "keep", "1", String.valueOf(SIZE), "0").run().stdout()).contains("COMMITTED");
        for (int round = 0; round < 4; round++) {
            // garbage for the gc to sweep: a snapshot of another VM, then pruned by deleting its manifest's VM
            assertThat(main("write", dir.toString(), "junk" + round, "2", String.valueOf(SIZE), "0").run().stdout())
                    .contains("COMMITTED");
            try (ChunkStore s = ChunkStore.open(dir, Optional.empty())) {
                Files.delete(dir.resolve(Manifest.objectName(StoreFixtures.id("junk" + round, 2))));
            }
            try (RunningProcess p = main("gc", dir.toString()).start()) {
                p.awaitLine(l -> l.equals("GC"), Duration.ofSeconds(60));
                Thread.sleep(50L * round);
                p.killTree();
            }
            try (ChunkStore s = ChunkStore.open(dir, Optional.empty())) {
                assertThat(s.verify(List.of()).ok()).isTrue();
                assertReadsBack(s, "keep", 1);
            }
        }
        // a later gc takes over the lock a killed gc may have left, and finishes the sweep
        try (ChunkStore s = ChunkStore.open(dir, Optional.empty())) {
            s.gc(Duration.ZERO);
            assertThat(s.verify(List.of()).ok()).isTrue();
            assertReadsBack(s, "keep", 1);
        }
    }

    @Test
    void twoProcessesWriteIntoOneStoreAtOnce() throws Exception {
        Path dir = store();
        try (RunningProcess a = main("write", dir.toString(), "a", "3", String.valueOf(SIZE), "1").start();
                RunningProcess b = main("write", dir.toString(), "b", "4", String.valueOf(SIZE), "1").start()) {
            assertThat(a.await().stdout()).contains("COMMITTED a/");
            assertThat(b.await().stdout()).contains("COMMITTED b/");
        }
        try (ChunkStore s = ChunkStore.open(dir, Optional.empty())) {
            assertThat(s.list(Optional.empty())).extracting(i -> i.id().vm()).containsExactly("a", "b");
            assertReadsBack(s, "a", 3);
            assertReadsBack(s, "b", 4);
            assertThat(s.verify(List.of()).ok()).isTrue();
        }
    }
}
