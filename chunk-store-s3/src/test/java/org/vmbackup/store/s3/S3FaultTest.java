package org.vmbackup.store.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.S3ProxyServer;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.StoreException;
import org.vmbackup.store.StoreOptions;
import org.vmbackup.store.s3.FaultProxy.Fault;

/**
 * Faults between the store and S3 (a fault-injecting proxy in front of S3Proxy): the store completes through
 * retries, or fails cleanly with no visible snapshot; either way it verifies afterwards.
 */
class S3FaultTest {
    private static final int CHUNK = StoreOptions.MIN_CHUNK_SIZE;
    private static final Fault[] KINDS = {Fault.ERROR_500, Fault.SLOW_DOWN_503, Fault.DROP, Fault.CUT_ANSWER};
    @TempDir
    static Path tmp;
    private static S3ProxyServer server;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(tmp, "faults");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static SnapshotId id(int minute) {
        return new SnapshotId("vm", Instant.parse("2026-12-07T00:00:00Z").plusSeconds(60L * minute));
    }

    private static S3Options through(FaultProxy p, int attempts) {
        return TestServers.options(p.endpoint()).withRetries(attempts, Duration.ofSeconds(20));
    }

    @Test
    void aBackupThroughErrorsThrottlingResetsAndLostAnswersCompletesBitExactAndVerifies() throws Exception {
        byte[] img = Images.image(new Random(5), 30 * CHUNK + 999);
        try (FaultProxy proxy = new FaultProxy(server.endpoint())) {
            Random r = new Random(6);
            // one request in four fails, each kind alike; ten attempts make a request that never gets through
            // (0.25^10) practically impossible
            proxy.rule((method, path) -> {
                synchronized (r) {
                    return r.nextInt(4) == 0 ? KINDS[r.nextInt(KINDS.length)] : Fault.NONE;
                }
            });
            try (ChunkStore s = ChunkStore.init(S3Backend.open(S3Location.parse("s3://faults/a"), through(proxy, 10)),
                    StoreOptions.defaults().withChunkSize(CHUNK))) {
                Images.write(s, id(0), img);
                assertThat(Images.read(s, id(0))).isEqualTo(img);
                assertThat(s.verify(List.of()).ok()).isTrue();
            }
            assertThat(proxy.injected()).as("faults injected of %d requests", proxy.requests()).isGreaterThan(20);
        }
        try (ChunkStore s = ChunkStore.open(S3Backend.open(S3Location.parse("s3://faults/a"), TestServers.options(server)), Optional.empty())) {
            assertThat(s.list(Optional.empty())).extracting(SnapshotInfo::id).containsExactly(id(0));
            assertThat(Images.read(s, id(0))).isEqualTo(img);
        }
    }

    @Test
    void aManifestThatCannotBeStoredLeavesNoSnapshotAndTheStoreVerifiesAndTakesTheBackupLater() throws Exception {
        byte[] img = Images.image(new Random(7), 10 * CHUNK);
        try (FaultProxy proxy = new FaultProxy(server.endpoint())) {
            proxy.rule((method, path) -> method.equals("PUT") && path.contains("/manifest") ? Fault.ERROR_500 : Fault.NONE);
            try (ChunkStore s = ChunkStore.init(S3Backend.open(S3Location.parse("s3://faults/b"), through(proxy, 3)),
                    StoreOptions.defaults().withChunkSize(CHUNK))) {
                assertThatThrownBy(() -> Images.write(s, id(0), img))
                        .isInstanceOf(StoreException.class)
                        .hasMessageContaining("store s3://faults/b/: storing snapshots/vm/")
                        .hasMessageContaining("manifest failed: HTTP 500 InternalError")
                        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
                assertThat(s.list(Optional.empty())).isEmpty();
                assertThat(s.verify(List.of()).ok()).isTrue();
                proxy.rule((method, path) -> Fault.NONE);
                Images.write(s, id(0), img);
                assertThat(Images.read(s, id(0))).isEqualTo(img);
                assertThat(s.verify(List.of()).ok()).isTrue();
            }
        }
    }

    @Test
    void aLostAnswerToTheWriterMarkersPutIsNotMistakenForAnotherWriter() throws Exception {
        byte[] img = Images.image(new Random(8), 4 * CHUNK);
        try (FaultProxy proxy = new FaultProxy(server.endpoint())) {
            java.util.concurrent.atomic.AtomicInteger markerPuts = new java.util.concurrent.atomic.AtomicInteger();
            // the server stores the marker, the client never hears it and retries; the retry meets 412, as on a
            // server that enforces If-None-Match (the proxy answers it: S3Proxy overwrites instead)
            proxy.rule((method, path) -> {
                if (!method.equals("PUT") || !path.contains("/writers/")) {
                    return Fault.NONE;
                }
                int n = markerPuts.incrementAndGet();
                return n == 1 ? Fault.CUT_ANSWER : n == 2 ? Fault.PRECONDITION_FAILED : Fault.NONE;
            });
            try (ChunkStore s = ChunkStore.init(S3Backend.open(S3Location.parse("s3://faults/d"), through(proxy, 5)),
                    StoreOptions.defaults().withChunkSize(CHUNK))) {
                Images.write(s, id(0), img);
                assertThat(markerPuts.get()).as("the marker's PUT, cut, then its retry refused").isEqualTo(2);
                assertThat(Images.read(s, id(0))).isEqualTo(img);
            }
        }
    }

    @Test
    void anUnreachableServerIsOneLineAfterBoundedRetries() throws Exception {
        FaultProxy proxy = new FaultProxy(server.endpoint());
        proxy.close(); // nothing listens there any more
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> S3Backend.open(S3Location.parse("s3://faults/c"), through(proxy, 3)))
                .isInstanceOf(StoreException.class)
                .hasMessageStartingWith("store s3://faults/c/: listing the bucket failed: ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
    }
}
