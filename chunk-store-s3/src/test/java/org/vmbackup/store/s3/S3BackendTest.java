package org.vmbackup.store.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.S3ProxyServer;
import org.vmbackup.store.StoreException;

/** The backend contract, request by request, against a real S3 server (S3Proxy). */
class S3BackendTest {
    @TempDir
    static Path tmp;
    private static S3ProxyServer server;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.start(tmp, "bk1");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return new String(a, StandardCharsets.UTF_8);
    }

    @Test
    void putIfAbsentStoresOnceThenTouchesAndEverythingReadsBack() throws Exception {
        try (S3Backend b = S3Backend.open(S3Location.parse("s3://bk1/p1"), TestServers.options(server))) {
            ByteBuffer data = bytes("hello chunk");
            assertThat(b.putIfAbsent("chunks/abc/x1", data)).isTrue();
            assertThat(data.remaining()).as("not consumed").isEqualTo(11);
            Instant first = b.stat("chunks/abc/x1").orElseThrow().lastTouched();
            Thread.sleep(1100); // Last-Modified has whole seconds
            assertThat(b.putIfAbsent("chunks/abc/x1", bytes("other"))).isFalse();
            assertThat(text(b.get("chunks/abc/x1").orElseThrow())).isEqualTo("hello chunk");
            assertThat(b.stat("chunks/abc/x1").orElseThrow().lastTouched()).isAfter(first);
            assertThat(text(b.get("chunks/abc/x1", 6, 100).orElseThrow())).isEqualTo("chunk");
            assertThat(text(b.get("chunks/abc/x1", 0, 5).orElseThrow())).isEqualTo("hello");
            assertThat(b.get("chunks/abc/x1", 11, 5).orElseThrow().remaining()).isZero();
            assertThat(b.get("chunks/abc/none")).isEmpty();
            assertThat(b.get("chunks/abc/none", 0, 5)).isEmpty();
            assertThat(b.stat("chunks/abc/none")).isEmpty();
            assertThat(b.touch("chunks/abc/none")).isFalse();
            assertThat(b.stat("chunks/abc/x1").orElseThrow().size()).isEqualTo(11);
        }
    }

    /** A disk's index is published from its file in one streamed PUT: the file's first bytes, its position untouched. */
    @Test
    void publishFromAFileStreamsItsFirstLengthBytes() throws Exception {
        byte[] content = new byte[5 * (1 << 20) + 77];
        new Random(3).nextBytes(content);
        Path f = tmp.resolve("streamed.bin");
        java.nio.file.Files.write(f, content);
        try (S3Backend b = S3Backend.open(S3Location.parse("s3://bk1/p5"), TestServers.options(server));
                java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f)) {
            ch.position(12345);
            b.publish("snapshots/vm/t/disk-0.fidx", ch, content.length - 7);
            assertThat(ch.position()).isEqualTo(12345);
            ByteBuffer got = b.get("snapshots/vm/t/disk-0.fidx").orElseThrow();
            byte[] a = new byte[got.remaining()];
            got.get(a);
            assertThat(a).isEqualTo(java.util.Arrays.copyOf(content, content.length - 7));
            assertThat(b.stat("snapshots/vm/t/disk-0.fidx").orElseThrow().size()).isEqualTo(content.length - 7);
        }
    }

    @Test
    void publishReplacesListFindsByPrefixUnderTheStoresOwnPrefixAndDeleteIsIdempotent() throws Exception {
        try (S3Backend b = S3Backend.open(S3Location.parse("s3://bk1/p2/"), TestServers.options(server));
                S3Backend other = S3Backend.open(S3Location.parse("s3://bk1/p2x"), TestServers.options(server))) {
            b.publish("snapshots/vm/t/manifest", bytes("one"));
            b.publish("snapshots/vm/t/manifest", bytes("two"));
            b.publish("snapshots/vm/t/disk-0.fidx", bytes("i"));
            b.publish("config", bytes("c"));
            other.publish("config", bytes("not ours"));
            assertThat(text(b.get("snapshots/vm/t/manifest").orElseThrow())).isEqualTo("two");
            assertThat(b.list("snapshots/")).containsExactlyInAnyOrder("snapshots/vm/t/manifest", "snapshots/vm/t/disk-0.fidx");
            assertThat(b.list("")).containsExactlyInAnyOrder("snapshots/vm/t/manifest", "snapshots/vm/t/disk-0.fidx", "config");
            b.delete("snapshots/vm/t/manifest");
            b.delete("snapshots/vm/t/manifest");
            assertThat(b.list("snapshots/")).containsExactly("snapshots/vm/t/disk-0.fidx");
            assertThat(text(other.get("config").orElseThrow())).isEqualTo("not ours");
        }
    }

    @Test
    void deleteIfUntouchedSinceKeepsWhatWasTouchedAfterTheCutoff() throws Exception {
        try (S3Backend b = S3Backend.open(S3Location.parse("s3://bk1/p3"), TestServers.options(server))) {
            b.putIfAbsent("chunks/000/a", bytes("aaaa"));
            b.putIfAbsent("chunks/000/b", bytes("bbb"));
            Thread.sleep(1100);
            Instant cutoff = Instant.now();
            Thread.sleep(1100);
            assertThat(b.touch("chunks/000/b")).isTrue();
            assertThat(b.deleteIfUntouchedSince("chunks/000/a", cutoff)).isEqualTo(4);
            assertThat(b.deleteIfUntouchedSince("chunks/000/b", cutoff)).isEqualTo(-1);
            assertThat(b.deleteIfUntouchedSince("chunks/000/none", cutoff)).isEqualTo(-1);
            assertThat(b.stat("chunks/000/a")).isEmpty();
            assertThat(b.stat("chunks/000/b")).isPresent();
        }
    }

    @Test
    void aMissingBucketIsOneLineNamingIt() {
        assertThatThrownBy(() -> S3Backend.open(S3Location.parse("s3://nobucket/p"), TestServers.options(server)))
                .isInstanceOf(StoreException.class)
                .hasMessage("store s3://nobucket/p/: the S3 bucket 'nobucket' does not exist");
    }

    @Test
    void wrongCredentialsAreOneLineSayingSo() {
        S3Options bad = TestServers.options(server).withCredentials(S3ProxyServer.ACCESS_KEY, "wrong");
        assertThatThrownBy(() -> S3Backend.open(S3Location.parse("s3://bk1/p"), bad))
                .isInstanceOf(StoreException.class)
                .hasMessageStartingWith("store s3://bk1/p/: the S3 server refused the credentials (")
                .hasMessageEndingWith("); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").doesNotContain("Exception"));
    }

    @Test
    void badLocationsAreRefusedInWords() {
        assertThatThrownBy(() -> S3Location.parse("s3:///x")).hasMessage("'s3:///x' names no bucket (s3://BUCKET/PREFIX)");
        assertThatThrownBy(() -> S3Location.parse("s3://Upper/x")).hasMessageContaining("is not an S3 bucket name");
        assertThatThrownBy(() -> S3Location.parse("s3://ok-bucket/a//b")).hasMessageContaining("not a usable key prefix");
        assertThat(S3Location.parse("s3://ok-bucket")).isEqualTo(new S3Location("ok-bucket", ""));
        assertThat(S3Location.parse("s3://ok-bucket/a/b/").key("config")).isEqualTo("a/b/config");
    }

    @Test
    void aBandwidthLimitHoldsUploadsAndDownloadsOfManyThreadsToTheRate() throws Exception {
        int piece = 128 * 1024;
        int pieces = 16; // 2 MiB each way at 1 MiB/s: at least 2 s each, however many threads
        long rate = 1024 * 1024;
        byte[] data = new byte[piece];
        new Random(3).nextBytes(data);
        try (S3Backend b = S3Backend.open(S3Location.parse("s3://bk1/bw"), TestServers.options(server).withBandwidthLimit(rate))) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                long t0 = System.nanoTime();
                List<Future<?>> up = new ArrayList<>();
                for (int i = 0; i < pieces; i++) {
                    String name = "chunks/bw/" + i;
                    up.add(pool.submit(() -> b.putIfAbsent(name, ByteBuffer.wrap(data))));
                }
                for (var f : up) {
                    f.get(60, TimeUnit.SECONDS);
                }
                Duration upload = Duration.ofNanos(System.nanoTime() - t0);
                long t1 = System.nanoTime();
                List<Future<ByteBuffer>> down = new ArrayList<>();
                for (int i = 0; i < pieces; i++) {
                    String name = "chunks/bw/" + i;
                    down.add(pool.submit(() -> b.get(name).orElseThrow()));
                }
                for (var f : down) {
                    assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(ByteBuffer.wrap(data));
                }
                Duration download = Duration.ofNanos(System.nanoTime() - t1);
                Duration floor = Duration.ofMillis(1000L * pieces * piece / rate);
                assertThat(upload).as("2 MiB up at 1 MiB/s").isGreaterThanOrEqualTo(floor.minusMillis(130));
                assertThat(download).as("2 MiB down at 1 MiB/s").isGreaterThanOrEqualTo(floor.minusMillis(130));
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aNegativeBandwidthLimitIsRefusedInWords() {
        assertThatThrownBy(() -> TestServers.options(server).withBandwidthLimit(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the S3 bandwidth limit must not be negative");
    }
}
