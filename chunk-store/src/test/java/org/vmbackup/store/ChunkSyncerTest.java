package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The batch flush before a manifest: every name added is synced by the time finish returns; failures surface. */
class ChunkSyncerTest {
    /** A backend whose only working call is sync: it records the names, or fails from call {@code failAt} on. */
    private static StoreBackend recording(List<String> synced, AtomicInteger calls, int failAt) {
        return (StoreBackend) Proxy.newProxyInstance(StoreBackend.class.getClassLoader(), new Class<?>[] {StoreBackend.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("sync")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    if (calls.incrementAndGet() >= failAt) {
                        throw new IOException("disk full");
                    }
                    @SuppressWarnings("unchecked")
                    List<String> names = (List<String>) args[0];
                    synced.addAll(names);
                    return null;
                });
    }

    @Test
    void everyNameIsSyncedInBatchesBeforeFinishReturns() throws Exception {
        List<String> synced = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger calls = new AtomicInteger();
        List<String> added = new ArrayList<>();
        try (ChunkSyncer s = new ChunkSyncer(recording(synced, calls, Integer.MAX_VALUE), "v/t")) {
            for (int i = 0; i < 3 * ChunkSyncer.BATCH + 7; i++) {
                s.add("chunks/" + i);
                added.add("chunks/" + i);
            }
            assertThat(s.finish()).isEqualTo(added.size());
        }
        assertThat(synced).containsExactlyInAnyOrderElementsOf(added);
        // three full batches, and finish splits the 7 left between the sync threads
        assertThat(calls.get()).isEqualTo(3 + ChunkSyncer.SYNC_THREADS);
    }

    @Test
    void finishWithEveryBatchSlotTakenByASlowDiskEnds() {
        // four full batches still syncing when finish hands over the rest: finish must wait for room without
        // holding what a batch needs to end (it once did: a backup hung at commit)
        List<String> synced = Collections.synchronizedList(new ArrayList<>());
        StoreBackend slow = (StoreBackend) Proxy.newProxyInstance(StoreBackend.class.getClassLoader(),
                new Class<?>[] {StoreBackend.class}, (proxy, method, args) -> {
                    Thread.sleep(100);
                    @SuppressWarnings("unchecked")
                    List<String> names = (List<String>) args[0];
                    synced.addAll(names);
                    return null;
                });
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            try (ChunkSyncer s = new ChunkSyncer(slow, "v/t")) {
                for (int i = 0; i < (ChunkSyncer.MAX_QUEUED + 1) * ChunkSyncer.BATCH + 1; i++) {
                    s.add("chunks/" + i);
                }
                assertThat(s.finish()).isEqualTo((ChunkSyncer.MAX_QUEUED + 1) * ChunkSyncer.BATCH + 1);
            }
        });
        assertThat(synced).hasSize((ChunkSyncer.MAX_QUEUED + 1) * ChunkSyncer.BATCH + 1);
    }

    @Test
    void aBatchThatFailedBeforeLaterBatchesWereSubmittedStillFailsFinish() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        java.util.concurrent.CountDownLatch failed = new java.util.concurrent.CountDownLatch(1);
        StoreBackend firstFails = (StoreBackend) Proxy.newProxyInstance(StoreBackend.class.getClassLoader(),
                new Class<?>[] {StoreBackend.class}, (proxy, method, args) -> {
                    if (calls.incrementAndGet() == 1) {
                        failed.countDown();
                        throw new IOException("EIO on fdatasync");
                    }
                    return null;
                });
        try (ChunkSyncer s = new ChunkSyncer(firstFails, "v/t")) {
            for (int i = 0; i < ChunkSyncer.BATCH; i++) {
                s.add("chunks/" + i);
            }
            assertThat(failed.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            Thread.sleep(100); // the failed batch's future is done
            for (int i = ChunkSyncer.BATCH; i < 2 * ChunkSyncer.BATCH + 3; i++) {
                s.add("chunks/" + i);
            }
            // the first batch's chunks never reached the disk: the manifest must not be published
            assertThatThrownBy(s::finish).isInstanceOf(IOException.class).hasMessage("EIO on fdatasync");
        }
    }

    @Test
    void aFailedBatchFailsFinish() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        try (ChunkSyncer s = new ChunkSyncer(recording(new ArrayList<>(), calls, 2), "v/t")) {
            for (int i = 0; i < 2 * ChunkSyncer.BATCH; i++) {
                s.add("chunks/" + i);
            }
            assertThatThrownBy(s::finish).isInstanceOf(IOException.class).hasMessage("disk full");
        }
    }
}
