package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackupSessionBuilderTest {
    @TempDir
    Path tmp;

    @Test
    void refusesIncompleteOrInvalidOptions() {
        assertThatThrownBy(() -> BackupSession.builder().target(tmp.resolve("a.vma")).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("QMP");
        assertThatThrownBy(() -> BackupSession.builder().qmpSocket(tmp.resolve("q")).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("target");
        assertThatThrownBy(() -> BackupSession.builder().commandTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> BackupSession.builder().sinkThreads(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> BackupSession.builder().cbwTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cbwTimeout");
        assertThatThrownBy(() -> BackupSession.builder().cbwTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cbwTimeout");
        assertThatThrownBy(() -> BackupSession.builder().cbwTimeout(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cbwTimeout");
        BackupSession.builder().cbwTimeout(Duration.ofMillis(1)); // any positive limit is taken
        assertThatThrownBy(() -> BackupSession.builder().freezeTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("freezeTimeout");
        assertThatThrownBy(() -> BackupSession.builder().fsFreeze(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> BackupSession.builder().guestAgentSocket(null))
                .isInstanceOf(NullPointerException.class);
    }

    @Test
    void targetNamesPickTheFormat() {
        assertThat(ArchiveTarget.isVmaName(Path.of("/b/x.vma"))).isTrue();
        assertThat(ArchiveTarget.isVmaName(Path.of("x.vma.zst"))).isTrue();
        assertThat(ArchiveTarget.isVmaName(Path.of("x.vma.gz"))).isTrue();
        assertThat(ArchiveTarget.isVmaName(Path.of("x.vmastuff"))).isFalse();
        assertThat(ArchiveTarget.isVmaName(Path.of("backup-dir"))).isFalse();
    }

    @Test
    void aSessionWithoutQemuFailsNamingTheSocketAndStartsOnlyOnce() {
        Path missing = tmp.resolve("no-such.sock");
        BackupSession s = BackupSession.builder().qmpSocket(missing).commandTimeout(Duration.ofSeconds(2))
                .target(tmp.resolve("a.vma")).build();
        var f = s.start();
        assertThatThrownBy(() -> f.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOf(BackupException.class).hasMessageContaining("no-such.sock");
        assertThatThrownBy(s::start).isInstanceOf(IllegalStateException.class);
        assertThat(tmp.resolve("a.vma")).doesNotExist();
    }

    @Test
    void aSessionRunsOnTheGivenExecutorAndARefusalFailsIt() throws Exception {
        java.util.List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "caller-pool");
            t.setDaemon(true);
            return t;
        });
        try {
            BackupSession s = BackupSession.builder().qmpSocket(tmp.resolve("none.sock"))
                    .commandTimeout(Duration.ofSeconds(2)).target(tmp.resolve("a.vma"))
                    .progress(p -> threads.add(Thread.currentThread().getName()))
                    .executor(r -> pool.execute(() -> {
                        threads.add(Thread.currentThread().getName());
                        r.run();
                    })).build();
            assertThatThrownBy(() -> s.start().get(30, TimeUnit.SECONDS)).cause().hasMessageContaining("none.sock");
            assertThat(threads).isNotEmpty().allMatch("caller-pool"::equals);
        } finally {
            pool.shutdownNow();
        }
        BackupSession refused = BackupSession.builder().qmpSocket(tmp.resolve("none.sock"))
                .target(tmp.resolve("b.vma")).executor(r -> {
                    throw new java.util.concurrent.RejectedExecutionException("pool is shut down");
                }).build();
        assertThatThrownBy(() -> refused.start().get(30, TimeUnit.SECONDS)).cause()
                .isInstanceOf(BackupException.class).hasMessage("the backup could not start: its executor refused "
                        + "the session (pool is shut down)");
        assertThat(tmp.resolve("b.vma")).doesNotExist();
        assertThatThrownBy(() -> BackupSession.builder().executor(null)).isInstanceOf(NullPointerException.class);
    }
}
