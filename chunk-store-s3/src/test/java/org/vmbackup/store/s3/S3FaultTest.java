package org.vmbackup.store.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.S3ProxyServer;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.DiskSpec;
import org.vmbackup.store.RetentionPolicy;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.SnapshotSpec;
import org.vmbackup.store.SnapshotWriter;
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

    /**
     * A backend whose gc DELETE deadline and timeout are 3 s and 5 s instead of 5 s and 10 s: the delete window
     * these tests wait out (a failed DELETE, a late PUT) is 16 s instead of 30 s; the logic is the same.
     */
    private static S3Backend open(S3Location where, S3Options options) throws java.io.IOException {
        return S3Backend.open(where, options, Duration.ofSeconds(3), Duration.ofSeconds(5));
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
            try (ChunkStore s = ChunkStore.init(open(S3Location.parse("s3://faults/a"), through(proxy, 10)),
                    StoreOptions.defaults().withChunkSize(CHUNK))) {
                Images.write(s, id(0), img);
                assertThat(Images.read(s, id(0))).isEqualTo(img);
                assertThat(s.verify(List.of()).ok()).isTrue();
            }
            assertThat(proxy.injected()).as("faults injected of %d requests", proxy.requests()).isGreaterThan(20);
        }
        try (ChunkStore s = ChunkStore.open(open(S3Location.parse("s3://faults/a"), TestServers.options(server)), Optional.empty())) {
            assertThat(s.list(Optional.empty())).extracting(SnapshotInfo::id).containsExactly(id(0));
            assertThat(Images.read(s, id(0))).isEqualTo(img);
        }
    }

    /** The index's streamed PUT is sent again from the file's start when an attempt fails or its answer is lost. */
    @Test
    void anIndexPutRetriedAfterAnErrorAndACutAnswerIsStoredWhole() throws Exception {
        byte[] img = Images.image(new Random(9), 12 * CHUNK + 5);
        java.util.concurrent.atomic.AtomicInteger indexPuts = new java.util.concurrent.atomic.AtomicInteger();
        try (FaultProxy proxy = new FaultProxy(server.endpoint())) {
            proxy.rule((method, path) -> {
                if (!method.equals("PUT") || !path.endsWith(".fidx")) {
                    return Fault.NONE;
                }
                return switch (indexPuts.getAndIncrement()) {
                    case 0 -> Fault.ERROR_500;
                    case 1 -> Fault.DROP;
                    case 2 -> Fault.CUT_ANSWER;
                    default -> Fault.NONE;
                };
            });
            try (ChunkStore s = ChunkStore.init(open(S3Location.parse("s3://faults/i"), through(proxy, 5)),
                    StoreOptions.defaults().withChunkSize(CHUNK))) {
                Images.write(s, id(0), img);
                assertThat(Images.read(s, id(0))).isEqualTo(img);
                assertThat(s.verify(List.of()).ok()).isTrue();
            }
        }
        assertThat(indexPuts.get()).as("attempts of the index's PUT").isGreaterThanOrEqualTo(4);
    }

    @Test
    void aManifestThatCannotBeStoredLeavesNoSnapshotAndTheStoreVerifiesAndTakesTheBackupLater() throws Exception {
        byte[] img = Images.image(new Random(7), 10 * CHUNK);
        try (FaultProxy proxy = new FaultProxy(server.endpoint())) {
            proxy.rule((method, path) -> method.equals("PUT") && path.contains("/manifest") ? Fault.ERROR_500 : Fault.NONE);
            try (ChunkStore s = ChunkStore.init(open(S3Location.parse("s3://faults/b"), through(proxy, 3)),
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
            try (ChunkStore s = ChunkStore.init(open(S3Location.parse("s3://faults/d"), through(proxy, 5)),
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
        assertThatThrownBy(() -> open(S3Location.parse("s3://faults/c"), through(proxy, 3)))
                .isInstanceOf(StoreException.class)
                .hasMessageStartingWith("store s3://faults/c/: listing the bucket failed: ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
    }

    /**
     * The race FORMAT.md's "gc on S3" closes, forced through the proxy: the gc has HEADed chunk 0 of a pruned
     * snapshot (untouched since long before its cutoff) and its DELETE reaches the proxy; the proxy holds it until
     * a running backup has reused (touched) that chunk, then lets it through. The backup must not publish.
     */
    @Test
    void aChunkReusedBetweenTheGcsHeadAndDeleteFailsTheBackupCleanlyInsteadOfPublishingIt() throws Exception {
        byte[] img = new byte[6 * CHUNK];
        new Random(11).nextBytes(img); // distinct chunks, none a hole
        String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(img, CHUNK)));
        S3Location where = S3Location.parse("s3://faults/race");
        try (FaultProxy proxy = new FaultProxy(server.endpoint());
                ChunkStore direct = ChunkStore.init(open(where, TestServers.options(server)),
                        StoreOptions.defaults().withChunkSize(CHUNK));
                S3Backend peek = open(where, TestServers.options(server))) {
            String chunk = "chunks/" + hex.substring(0, 3) + "/" + hex;
            Images.write(direct, new SnapshotId("x", id(0).instant()), img);
            try (SnapshotWriter w = direct.create(SnapshotSpec.full(new SnapshotId("x", id(1).instant()), List.of(), false, Map.of()))) {
                w.commit();
            }
            assertThat(direct.prune("x", new RetentionPolicy(1, 0, 0, 0), false).removed()).hasSize(1);
            Instant before = peek.stat(chunk).orElseThrow().lastTouched();
            // Last-Modified has whole seconds, and the cutoff is 2 s before the backup's start (marker and gc slack)
            Thread.sleep(3100);
            SnapshotId fresh = new SnapshotId("y", id(0).instant());
            try (SnapshotWriter w = direct.create(SnapshotSpec.full(fresh, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                AtomicBoolean held = new AtomicBoolean();
                AtomicBoolean touched = new AtomicBoolean();
                proxy.rule((method, path) -> {
                    if (method.equals("DELETE") && path.endsWith("/" + chunk) && held.compareAndSet(false, true)) {
                        try {
                            w.write(0, 0, ByteBuffer.wrap(img, 0, CHUNK));
                            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
                            while (!peek.stat(chunk).orElseThrow().lastTouched().isAfter(before)
                                    && System.nanoTime() < deadline) {
                                Thread.sleep(20);
                            }
                            touched.set(peek.stat(chunk).orElseThrow().lastTouched().isAfter(before));
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    return Fault.NONE;
                });
                try (ChunkStore gc = ChunkStore.open(open(where, through(proxy, 3)), Optional.empty())) {
                    assertThat(gc.gc(Duration.ZERO).chunksRemoved()).isGreaterThanOrEqualTo(6);
                }
                assertThat(held).as("the gc's DELETE of chunk 0 was held for the reuse").isTrue();
                assertThat(touched).as("the backup touched chunk 0 before the DELETE went on").isTrue();
                assertThat(peek.stat(chunk)).as("the reused chunk was deleted after all").isEmpty();
                w.write(0, CHUNK, ByteBuffer.wrap(img, CHUNK, img.length - CHUNK));
                assertThatThrownBy(w::commit)
                        .isInstanceOf(StoreException.class)
                        .hasMessage("snapshot " + fresh + ": chunk " + hex + " it names was deleted by a gc that ran"
                                + " meanwhile; the snapshot is not published (run the backup again)");
            }
            assertThat(direct.list(Optional.of("y"))).isEmpty();
            assertThat(direct.verify(List.of()).ok()).isTrue();
            Images.write(direct, fresh, img); // the backup run again stores the chunk anew
            assertThat(Images.read(direct, fresh)).isEqualTo(img);
        }
    }

    /**
     * The gc's DELETE of a condemned chunk takes effect, its answer is lost, and the SDK would send it again. If the
     * second DELETE is delayed on its way while a running backup finds the chunk absent and stores it anew (a store
     * anew is no reuse: no {@code ReuseCheck} asks about it), that second DELETE takes the fresh chunk, and the backup
     * publishes a snapshot that lacks it. The proxy forces the interleaving: the first DELETE is carried out with its
     * answer cut; a second one (if the gc sends one) is held until the backup has stored the chunk anew.
     */
    @Test
    @Timeout(180)
    void aGcDeleteWhoseAnswerWasLostIsNotSentAgainAfterABackupStoredTheChunkAnew() throws Exception {
        byte[] img = new byte[6 * CHUNK];
        new Random(12).nextBytes(img);
        String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(img, CHUNK)));
        S3Location where = S3Location.parse("s3://faults/resent");
        try (FaultProxy proxy = new FaultProxy(server.endpoint());
                ChunkStore direct = ChunkStore.init(open(where, TestServers.options(server)),
                        StoreOptions.defaults().withChunkSize(CHUNK));
                S3Backend peek = open(where, TestServers.options(server))) {
            String chunk = "chunks/" + hex.substring(0, 3) + "/" + hex;
            Images.write(direct, new SnapshotId("x", id(0).instant()), img);
            try (SnapshotWriter w = direct.create(SnapshotSpec.full(new SnapshotId("x", id(1).instant()), List.of(), false, Map.of()))) {
                w.commit();
            }
            assertThat(direct.prune("x", new RetentionPolicy(1, 0, 0, 0), false).removed()).hasSize(1);
            Thread.sleep(3100); // Last-Modified (whole seconds) before the cutoff, as in the test above
            SnapshotId fresh = new SnapshotId("y", id(0).instant());
            try (SnapshotWriter w = direct.create(SnapshotSpec.full(fresh, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                java.util.concurrent.atomic.AtomicInteger deletes = new java.util.concurrent.atomic.AtomicInteger();
                AtomicBoolean storedAnew = new AtomicBoolean();
                proxy.rule((method, path) -> {
                    if (!method.equals("DELETE") || !path.endsWith("/" + chunk)) {
                        return Fault.NONE;
                    }
                    int n = deletes.incrementAndGet();
                    if (n == 1) {
                        return Fault.CUT_ANSWER; // carried out; the gc never hears it
                    }
                    if (n > 2) {
                        return Fault.NONE;
                    }
                    try {
                        // a second DELETE, delayed on its way while the backup finds the chunk gone and stores it
                        w.write(0, 0, ByteBuffer.wrap(img, 0, CHUNK));
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                        while (peek.stat(chunk).isEmpty() && System.nanoTime() < deadline) {
                            Thread.sleep(20);
                        }
                        storedAnew.set(peek.stat(chunk).isPresent());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    return Fault.NONE;
                });
                try (ChunkStore gc = ChunkStore.open(open(where, through(proxy, 3)), Optional.empty())) {
                    gc.gc(Duration.ZERO);
                }
                assertThat(deletes.get()).as("DELETEs of chunk 0 the server saw").isGreaterThanOrEqualTo(1);
                if (deletes.get() == 1) {
                    w.write(0, 0, ByteBuffer.wrap(img, 0, CHUNK)); // the backup reaches chunk 0 after the gc
                } else {
                    assertThat(storedAnew).as("the backup stored chunk 0 anew while the DELETE was held").isTrue();
                }
                w.write(0, CHUNK, ByteBuffer.wrap(img, CHUNK, img.length - CHUNK));
                try {
                    w.commit();
                } catch (StoreException e) {
                    // a backup refused is safe too (nothing is published); what must not happen is a snapshot
                    // published without its chunk
                    assertThat(direct.list(Optional.of("y"))).isEmpty();
                    return;
                }
            }
            assertThat(peek.stat(chunk)).as("chunk 0 of the committed snapshot").isPresent();
            assertThat(direct.verify(List.of()).ok()).isTrue();
            assertThat(Images.read(direct, fresh)).isEqualTo(img);
        }
    }

    /**
     * The gc's DELETE of its lock is carried out with its answer lost; meanwhile a gc on another host takes the
     * lock; a resent DELETE then removes that gc's lock while it runs (writers then skip their wait for its deletes,
     * and a third gc may start beside it). The proxy forces it: the first DELETE's answer is cut, and a second one
     * (if sent) is held until the other host's lock is in place.
     */
    @Test
    @Timeout(180)
    void aGcThatLostTheAnswerToItsUnlockDoesNotRemoveTheLockAnotherGcTookMeanwhile() throws Exception {
        S3Location where = S3Location.parse("s3://faults/unlock");
        ByteBuffer other = ByteBuffer.wrap(("{\"id\":\"gc\",\"host\":\"another-host\",\"pid\":1,\"start\":\""
                + Instant.now() + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        try (FaultProxy proxy = new FaultProxy(server.endpoint());
                ChunkStore direct = ChunkStore.init(open(where, TestServers.options(server)),
                        StoreOptions.defaults().withChunkSize(CHUNK));
                S3Backend peek = open(where, TestServers.options(server))) {
            java.util.concurrent.atomic.AtomicInteger deletes = new java.util.concurrent.atomic.AtomicInteger();
            AtomicBoolean taken = new AtomicBoolean();
            proxy.rule((method, path) -> {
                if (!method.equals("DELETE") || !path.endsWith("/locks/gc")) {
                    return Fault.NONE;
                }
                int n = deletes.incrementAndGet();
                if (n == 1) {
                    return Fault.CUT_ANSWER; // carried out; the gc never hears it
                }
                if (n == 2) {
                    try {
                        taken.set(peek.putIfAbsent("locks/gc", other)); // the other host's gc starts
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
                return Fault.NONE;
            });
            try (ChunkStore gc = ChunkStore.open(open(where, through(proxy, 3)), Optional.empty())) {
                gc.gc(Duration.ZERO);
            }
            if (deletes.get() == 1) {
                taken.set(peek.putIfAbsent("locks/gc", other)); // the other gc starts after this one ended
            }
            assertThat(taken).as("the other host's gc took the lock").isTrue();
            assertThat(peek.get("locks/gc")).as("the other gc's lock, while it runs").contains(other);
        }
    }

    /**
     * The manifest's PUT reaches the server only after the writer gave up on it (every attempt reset, the requests
     * carried out seconds later). The writer must not abort (delete the indexes and its marker) while a PUT of its
     * manifest may still land: that lands a snapshot that lists but cannot be read, whose chunks no marker protects.
     * Either outcome is fine when it is whole: committed (readable) or not there at all.
     */
    @Test
    @Timeout(180)
    void aManifestPutCarriedOutAfterTheWriterGaveUpDoesNotLeaveASnapshotWithoutItsIndexes() throws Exception {
        byte[] img = Images.image(new Random(13), 4 * CHUNK);
        S3Location where = S3Location.parse("s3://faults/late");
        try (FaultProxy proxy = new FaultProxy(server.endpoint())) {
            proxy.lateBy(Duration.ofSeconds(3));
            proxy.rule((method, path) -> method.equals("PUT") && path.endsWith("/manifest") ? Fault.LATE : Fault.NONE);
            try (ChunkStore s = ChunkStore.init(open(where, through(proxy, 2)),
                    StoreOptions.defaults().withChunkSize(CHUNK))) {
                boolean committed;
                try {
                    Images.write(s, id(0), img);
                    committed = true;
                } catch (StoreException e) {
                    committed = false;
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (proxy.landedLate() < proxy.injected() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(proxy.injected()).as("manifest PUTs taken late").isGreaterThanOrEqualTo(1);
                assertThat(proxy.landedLate()).as("late PUTs the server carried out").isEqualTo(proxy.injected());
                proxy.rule((method, path) -> Fault.NONE);
                if (committed) {
                    assertThat(Images.read(s, id(0))).isEqualTo(img);
                } else {
                    assertThat(s.list(Optional.empty())).as("a snapshot whose commit failed").isEmpty();
                }
                assertThat(s.verify(List.of()).ok()).isTrue();
            }
        }
    }

    /**
     * The PUT of the gc's lock, and of a writer's marker, reaches the server only after the process gave up on it
     * (the gc or the backup failed). Left there, the marker names a live process of this machine: every gc of
     * another machine refuses to run (the lock), or keeps every chunk touched since (the writer's marker), until
     * someone removes it by hand. Once the failed PUT can no longer land, the process removes its own marker.
     */
    @Test
    @Timeout(240)
    void aMarkerPutCarriedOutAfterItsProcessGaveUpIsNotLeftBehind() throws Exception {
        S3Location where = S3Location.parse("s3://faults/markers");
        try (FaultProxy proxy = new FaultProxy(server.endpoint());
                S3Backend peek = open(where, TestServers.options(server))) {
            ChunkStore.init(open(where, TestServers.options(server)), StoreOptions.defaults().withChunkSize(CHUNK)).close();
            proxy.lateBy(Duration.ofSeconds(3));
            proxy.rule((method, path) -> method.equals("PUT") && (path.endsWith("/locks/gc") || path.contains("/writers/"))
                    ? Fault.LATE : Fault.NONE);
            try (ChunkStore s = ChunkStore.open(open(where, through(proxy, 2)), Optional.empty())) {
                assertThatThrownBy(() -> s.gc(Duration.ZERO)).isInstanceOf(StoreException.class);
                int late = proxy.injected();
                assertThatThrownBy(() -> s.create(SnapshotSpec.full(id(0), List.of(DiskSpec.full("d", CHUNK)), false, Map.of())))
                        .isInstanceOf(StoreException.class);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (proxy.landedLate() < proxy.injected() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(late).as("lock PUTs taken late").isGreaterThanOrEqualTo(1);
                assertThat(proxy.injected()).as("marker PUTs taken late").isGreaterThan(late);
                assertThat(proxy.landedLate()).as("late PUTs the server carried out").isEqualTo(proxy.injected());
            }
            assertThat(peek.stat("locks/gc")).as("the lock of the gc that failed").isEmpty();
            assertThat(peek.list("writers/")).as("the marker of the backup that failed").isEmpty();
        }
    }

    /**
     * A DELETE the server refuses (403: the credentials may not delete) was not carried out: the gc fails naming it,
     * as it did before its DELETEs were sent once, instead of taking the refusal for a lost answer and ending
     * "successfully" with every chunk kept.
     */
    @Test
    @Timeout(120)
    void aGcWhoseDeletesAreRefusedFailsNamingItInsteadOfKeepingEverything() throws Exception {
        S3Location where = S3Location.parse("s3://faults/refused");
        byte[] img = Images.image(new Random(14), 2 * CHUNK);
        try (FaultProxy proxy = new FaultProxy(server.endpoint());
                ChunkStore direct = ChunkStore.init(open(where, TestServers.options(server)),
                        StoreOptions.defaults().withChunkSize(CHUNK))) {
            Images.write(direct, new SnapshotId("x", id(0).instant()), img);
            try (SnapshotWriter w = direct.create(SnapshotSpec.full(new SnapshotId("x", id(1).instant()), List.of(), false, Map.of()))) {
                w.commit();
            }
            assertThat(direct.prune("x", new RetentionPolicy(1, 0, 0, 0), false).removed()).hasSize(1);
            Thread.sleep(2100);
            proxy.rule((method, path) -> method.equals("DELETE") && path.contains("/chunks/") ? Fault.ACCESS_DENIED : Fault.NONE);
            try (ChunkStore gc = ChunkStore.open(open(where, through(proxy, 3)), Optional.empty())) {
                assertThatThrownBy(() -> gc.gc(Duration.ZERO))
                        .isInstanceOf(StoreException.class)
                        .hasMessageContaining("access denied to deleting chunks/");
            }
        }
    }

    /**
     * The gc's single DELETE of a condemned chunk carried out twice, as a proxy in front of the server may resend
     * an idempotent request on its own, and between the two a running backup finds the chunk gone and stores it
     * anew. Nothing the gc does can prevent it; the backup must not publish a snapshot without the chunk (it checks
     * the chunks it stored, not only those it reused).
     */
    @Test
    @Timeout(180)
    void aGcDeleteCarriedOutTwiceAroundAStoreAnewDoesNotLeaveACommittedSnapshotWithoutTheChunk() throws Exception {
        byte[] img = new byte[6 * CHUNK];
        new Random(15).nextBytes(img);
        String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(img, CHUNK)));
        S3Location where = S3Location.parse("s3://faults/twice");
        try (FaultProxy proxy = new FaultProxy(server.endpoint());
                ChunkStore direct = ChunkStore.init(open(where, TestServers.options(server)),
                        StoreOptions.defaults().withChunkSize(CHUNK));
                S3Backend peek = open(where, TestServers.options(server))) {
            String chunk = "chunks/" + hex.substring(0, 3) + "/" + hex;
            Images.write(direct, new SnapshotId("x", id(0).instant()), img);
            try (SnapshotWriter w = direct.create(SnapshotSpec.full(new SnapshotId("x", id(1).instant()), List.of(), false, Map.of()))) {
                w.commit();
            }
            assertThat(direct.prune("x", new RetentionPolicy(1, 0, 0, 0), false).removed()).hasSize(1);
            Thread.sleep(3100);
            SnapshotId fresh = new SnapshotId("y", id(0).instant());
            boolean committed;
            try (SnapshotWriter w = direct.create(SnapshotSpec.full(fresh, List.of(DiskSpec.full("d", img.length)), false, Map.of()))) {
                AtomicBoolean storedAnew = new AtomicBoolean();
                proxy.between(() -> {
                    try {
                        w.write(0, 0, ByteBuffer.wrap(img, 0, CHUNK));
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                        while (peek.stat(chunk).isEmpty() && System.nanoTime() < deadline) {
                            Thread.sleep(20);
                        }
                        storedAnew.set(peek.stat(chunk).isPresent());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                proxy.rule((method, path) -> method.equals("DELETE") && path.endsWith("/" + chunk) ? Fault.TWICE : Fault.NONE);
                try (ChunkStore gc = ChunkStore.open(open(where, through(proxy, 3)), Optional.empty())) {
                    gc.gc(Duration.ZERO);
                }
                assertThat(storedAnew).as("the backup stored chunk 0 anew between the two DELETEs").isTrue();
                assertThat(peek.stat(chunk)).as("chunk 0 after the second DELETE").isEmpty();
                w.write(0, CHUNK, ByteBuffer.wrap(img, CHUNK, img.length - CHUNK));
                try {
                    w.commit();
                    committed = true;
                } catch (StoreException e) {
                    committed = false;
                }
            }
            assertThat(committed).as("a snapshot whose chunk 0 is gone is not committed").isFalse();
            assertThat(direct.list(Optional.of("y"))).isEmpty();
            assertThat(direct.verify(List.of()).ok()).isTrue();
        }
    }
}
