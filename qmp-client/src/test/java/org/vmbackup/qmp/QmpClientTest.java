package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.command.QueryCommands;

/** The client against a scripted fake QMP server, for what a real QEMU will not do on demand. */
class QmpClientTest {
    private FakeQmpServer server;
    private QmpClient client;

    @BeforeEach
    void setUp() throws Exception {
        server = new FakeQmpServer();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            client.close();
        }
        server.close();
    }

    private QmpClient connect(QmpClientOptions options) throws Exception {
        client = FakeQmpServer.connect(server, options, FakeQmpServer.GREETING_OOB);
        return client;
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    private static Throwable failure(CompletableFuture<?> f) {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError("future did not fail in time", e);
        }
        throw new AssertionError("future completed normally");
    }

    @Test
    void greetingIsParsedAndOobIsNotRequestedByDefault() throws Exception {
        var future = QmpClient.connect(server.socket(), QmpClientOptions.defaults());
        server.accept();
        JsonObject caps = server.handshake(FakeQmpServer.GREETING_OOB);
        client = await(future);

        assertThat(caps.get("execute").asString()).isEqualTo("qmp_capabilities");
        assertThat(caps.get("arguments").members()).doesNotContainKey("enable");
        assertThat(client.greeting().version()).isEqualTo(new QmpVersion(7, 2, 0, "v7.2.0"));
        assertThat(client.greeting().capabilities()).containsExactly("oob");
        assertThat(client.enabledCapabilities()).isEmpty();
    }

    @Test
    void oobIsEnabledOnlyWhenOfferedAndAsked() throws Exception {
        var asked = QmpClientOptions.builder().requestOob(true).build();
        var future = QmpClient.connect(server.socket(), asked);
        server.accept();
        JsonObject caps = server.handshake(FakeQmpServer.GREETING_OOB);
        client = await(future);
        assertThat(caps.get("arguments").get("enable").elements()).containsExactly(Json.of("oob"));
        assertThat(client.enabledCapabilities()).containsExactly("oob");
    }

    @Test
    void greetingWithoutOobNegotiatesNoCapabilityEvenWhenAsked() throws Exception {
        var future = QmpClient.connect(server.socket(), QmpClientOptions.builder().requestOob(true).build());
        server.accept();
        JsonObject caps = server.handshake(FakeQmpServer.GREETING_NO_OOB);
        client = await(future);
        assertThat(caps.get("arguments").members()).doesNotContainKey("enable");
        assertThat(client.greeting().capabilities()).isEmpty();
        assertThat(client.greeting().version().packageVersion()).isEqualTo("pve");
        assertThat(client.enabledCapabilities()).isEmpty();
    }

    @Test
    void everyCommandCarriesItsOwnId() throws Exception {
        connect(QmpClientOptions.defaults());
        var a = client.execute("query-status", null);
        var b = client.execute("query-status", null);
        JsonObject ca = server.readCommand();
        JsonObject cb = server.readCommand();
        assertThat(ca.get("id")).isNotEqualTo(cb.get("id"));
        server.reply(cb, "\"B\"");
        server.reply(ca, "\"A\"");
        assertThat(await(a).asString()).isEqualTo("A");
        assertThat(await(b).asString()).isEqualTo("B");
    }

    @Test
    void eventsBeforeAndBetweenRepliesReachSubscriptionsInOrder() throws Exception {
        connect(QmpClientOptions.defaults());
        try (QmpEventSubscription jobs = client.subscribe(e -> e instanceof QmpEvent.JobStatusChange)) {
            var reply = client.execute("transaction", JsonObject.EMPTY);
            JsonObject cmd = server.readCommand();
            server.event("JOB_STATUS_CHANGE", "{\"status\": \"created\", \"id\": \"bk\"}");
            server.event("STOP", null);
            server.event("JOB_STATUS_CHANGE", "{\"status\": \"running\", \"id\": \"bk\"}");
            server.reply(cmd, "{}");
            server.event("JOB_STATUS_CHANGE", "{\"status\": \"concluded\", \"id\": \"bk\"}");
            await(reply);
            // Events sent before the reply are queued by the time the reply completes.
            var first = (QmpEvent.JobStatusChange) jobs.poll().orElseThrow();
            assertThat(first.status()).isEqualTo(QmpJobStatus.CREATED);
            assertThat(first.id()).isEqualTo("bk");
            assertThat(first.timestamp()).isEqualTo(Instant.ofEpochSecond(1_700_000_000L, 250_000_000L));
            var second = (QmpEvent.JobStatusChange) await(jobs.next());
            assertThat(second.status()).isEqualTo(QmpJobStatus.RUNNING);
            var last = await(jobs.await(QmpEvent.JobStatusChange.class,
                    e -> e.status() == QmpJobStatus.CONCLUDED, Duration.ofSeconds(5)));
            assertThat(last.rawStatus()).isEqualTo("concluded");
        }
    }

    @Test
    void listenersSeeEveryEventInOrderOffTheNetworkThread() throws Exception {
        connect(QmpClientOptions.defaults());
        List<String> names = new CopyOnWriteArrayList<>();
        List<String> threads = new CopyOnWriteArrayList<>();
        CountDownLatch three = new CountDownLatch(3);
        try (AutoCloseable reg = client.addListener(e -> {
            names.add(e.name());
            threads.add(Thread.currentThread().getName());
            three.countDown();
        })) {
            server.event("STOP", null);
            server.event("RESUME", null);
            server.event("SHUTDOWN", "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
            assertThat(three.await(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(names).containsExactly("STOP", "RESUME", "SHUTDOWN");
        assertThat(threads).allSatisfy(t -> assertThat(t).startsWith("qmp-callback-"));
    }

    @Test
    void unknownEventsAndMisshapenKnownEventsArriveRaw() throws Exception {
        connect(QmpClientOptions.defaults());
        try (QmpEventSubscription all = client.subscribe()) {
            server.event("VSERPORT_CHANGE", "{\"id\": \"x\", \"open\": true}");
            server.event("JOB_STATUS_CHANGE", "{\"id\": \"no-status\"}");
            server.send("{\"event\": \"NO_TIMESTAMP\"}\r\n");
            var unknown = (QmpEvent.Raw) await(all.next());
            assertThat(unknown.name()).isEqualTo("VSERPORT_CHANGE");
            assertThat(unknown.data().get("open").asBoolean()).isTrue();
            var misshapen = (QmpEvent.Raw) await(all.next());
            assertThat(misshapen.name()).isEqualTo("JOB_STATUS_CHANGE");
            var bare = await(all.next());
            assertThat(bare.timestamp()).isNull();
            assertThat(bare.data()).isEqualTo(JsonObject.EMPTY);
            // The connection is still fine.
            var r = client.execute("query-status", null);
            server.reply(server.readCommand(), "{\"running\": true, \"status\": \"running\"}");
            assertThat(await(r).get("status").asString()).isEqualTo("running");
        }
    }

    @Test
    void errorClassesAreKeptIncludingUnknownOnes() throws Exception {
        connect(QmpClientOptions.defaults());
        var known = client.execute("blockdev-del", JsonObject.builder().put("node-name", "x").build());
        server.error(server.readCommand(), "DeviceNotFound", "Node 'x' not found");
        var e = (QmpErrorException) failure(known);
        assertThat(e.errorClass()).isEqualTo(QmpErrorClass.DeviceNotFound);
        assertThat(e.description()).isEqualTo("Node 'x' not found");
        assertThat(e.command()).isEqualTo("blockdev-del");
        assertThat(e.getMessage()).isEqualTo("DeviceNotFound: Node 'x' not found (command blockdev-del)");

        var unknown = client.execute("frobnicate", null);
        server.error(server.readCommand(), "FancyNewError", "something new");
        var u = (QmpErrorException) failure(unknown);
        assertThat(u.errorClass()).isEqualTo(QmpErrorClass.UNKNOWN);
        assertThat(u.rawErrorClass()).isEqualTo("FancyNewError");
    }

    @Test
    void idlessErrorAnswersTheOldestPendingCommand() throws Exception {
        connect(QmpClientOptions.defaults());
        var first = client.execute("one", null);
        var second = client.execute("two", null);
        server.readCommand();
        JsonObject two = server.readCommand();
        server.send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray 'x'\"}}\r\n");
        var e = (QmpErrorException) failure(first);
        assertThat(e.command()).isEqualTo("one");
        assertThat(e.description()).startsWith("JSON parse error");
        assertThat(second).isNotDone();
        server.reply(two, "2");
        assertThat(await(second).asLong()).isEqualTo(2);
    }

    @Test
    void malformedJsonFailsTheConnectionAndPendingCommands() throws Exception {
        connect(QmpClientOptions.defaults());
        var pending = client.execute("query-status", null);
        server.readCommand();
        server.send("{\"return\": }\r\n");
        Throwable t = failure(pending);
        assertThat(t).isInstanceOf(QmpConnectionClosedException.class).hasMessageContaining("malformed JSON");
        assertThat(t.getCause()).isInstanceOf(QmpProtocolException.class);
        await(client.closeFuture());
        assertThat(client.isOpen()).isFalse();
        assertThat(failure(client.execute("query-status", null))).isInstanceOf(QmpConnectionClosedException.class);
    }

    @Test
    void messageOverTheLimitFailsTheConnectionWithAClearError() throws Exception {
        connect(QmpClientOptions.defaults());
        var pending = client.execute("query-qmp-schema", null);
        JsonObject cmd = server.readCommand();
        byte[] big = bigReply(cmd, 20 << 20);
        try {
            server.sendBytes(big);
        } catch (java.io.IOException ignored) {
            // The client may close before it has read everything.
        }
        Throwable t = failure(pending);
        assertThat(t).isInstanceOf(QmpConnectionClosedException.class)
                .hasMessageContaining("exceeds the limit of 16777216 bytes");
        assertThat(t.getCause()).isInstanceOf(QmpProtocolException.class);
    }

    @Test
    void messageOf20MiBIsAcceptedWithAHigherLimit() throws Exception {
        connect(QmpClientOptions.builder().maxMessageSize(32 << 20).build());
        var pending = client.execute("query-qmp-schema", null);
        JsonObject cmd = server.readCommand();
        server.sendBytes(bigReply(cmd, 20 << 20));
        Json result = await(pending);
        assertThat(result.asString()).hasSize(20 << 20).startsWith("xxxx");
    }

    private static byte[] bigReply(JsonObject cmd, int size) {
        StringBuilder sb = new StringBuilder(size + 100).append("{\"return\": \"");
        sb.append("x".repeat(size));
        sb.append("\", \"id\": ").append(cmd.get("id").toJson()).append("}\r\n");
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void disconnectMidCommandFailsEveryPendingCommand() throws Exception {
        connect(QmpClientOptions.defaults());
        QmpEventSubscription sub = client.subscribe();
        var a = client.execute("blockdev-add", JsonObject.EMPTY);
        var b = client.execute("query-jobs", null);
        var waiting = sub.next();
        server.readCommand();
        server.readCommand();
        server.disconnect();
        assertThat(failure(a)).isInstanceOf(QmpConnectionClosedException.class)
                .hasMessageContaining("blockdev-add got no reply");
        assertThat(failure(b)).isInstanceOf(QmpConnectionClosedException.class);
        assertThat(failure(waiting)).isInstanceOf(QmpConnectionClosedException.class);
        await(client.closeFuture());
    }

    @Test
    void timedOutCommandDiscardsItsLateReply() throws Exception {
        connect(QmpClientOptions.defaults());
        var slow = client.execute(QmpCommand.raw("slow", null), Duration.ofMillis(200));
        JsonObject cmd = server.readCommand();
        assertThat(failure(slow)).isInstanceOf(QmpTimeoutException.class).hasMessageContaining("slow");
        server.reply(cmd, "\"late\"");
        var next = client.execute("query-status", null);
        server.reply(server.readCommand(), "\"fresh\"");
        assertThat(await(next).asString()).isEqualTo("fresh");
    }

    @Test
    void manyCommandsInFlightFromManyThreadsGetTheirOwnReplies() throws Exception {
        connect(QmpClientOptions.defaults());
        int n = 200;
        List<CompletableFuture<Json>> futures = new CopyOnWriteArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int base = t * (n / 4);
            Thread th = new Thread(() -> {
                for (int i = 0; i < n / 4; i++) {
                    futures.add(client.execute("echo", JsonObject.builder().put("v", (long) (base + i)).build()));
                }
            });
            threads.add(th);
            th.start();
        }
        List<JsonObject> cmds = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            cmds.add(server.readCommand());
        }
        for (Thread th : threads) {
            th.join();
        }
        // Answer in reverse order: routing is by id, not by position.
        for (int i = n - 1; i >= 0; i--) {
            server.reply(cmds.get(i), cmds.get(i).get("arguments").get("v").toJson());
        }
        assertThat(futures).hasSize(n);
        List<Long> got = new ArrayList<>();
        for (var f : futures) {
            got.add(await(f).asLong());
        }
        assertThat(got).doesNotHaveDuplicates().hasSize(n).allMatch(v -> v >= 0 && v < n);
    }

    @Test
    void prettyPrintedAndByteWiseSplitMessagesAreFramed() throws Exception {
        connect(QmpClientOptions.defaults());
        var r = client.execute(new QueryCommands.QueryStatus());
        JsonObject cmd = server.readCommand();
        String pretty = "{\n    \"return\": {\n        \"status\": \"paused\",\n        \"running\": false\n"
                + "    },\n    \"id\": " + cmd.get("id").toJson() + "\n}\n";
        for (byte b : pretty.getBytes(StandardCharsets.UTF_8)) {
            server.sendBytes(new byte[] {b});
        }
        var status = await(r);
        assertThat(status.running()).isFalse();
        assertThat(status.status()).isEqualTo("paused");
    }

    @Test
    void replyOfTheWrongShapeFailsOnlyThatCommand() throws Exception {
        connect(QmpClientOptions.defaults());
        var r = client.execute(new QueryCommands.QueryStatus());
        server.reply(server.readCommand(), "{\"status\": 5}");
        assertThat(failure(r)).isInstanceOf(QmpProtocolException.class).hasMessageContaining("query-status");
        var ok = client.execute("x", null);
        server.reply(server.readCommand(), "{}");
        assertThat(await(ok)).isEqualTo(JsonObject.EMPTY);
    }

    @Test
    void subscriptionFailsLoudlyAtItsBound() throws Exception {
        connect(QmpClientOptions.builder().subscriptionCapacity(3).build());
        QmpEventSubscription sub = client.subscribe();
        for (int i = 0; i < 5; i++) {
            server.event("STOP", null);
        }
        var probe = client.execute("x", null);
        server.reply(server.readCommand(), "{}");
        await(probe);
        assertThat(sub.drain()).hasSize(3);
        assertThat(failure(sub.next())).isInstanceOf(QmpException.class).hasMessageContaining("overflowed");
    }

    @Test
    void throwingFiltersAndPredicatesFailOnlyTheirOwnWait() throws Exception {
        connect(QmpClientOptions.defaults());
        try (QmpEventSubscription bad = client.subscribe(e -> {
            throw new IllegalStateException("filter bug");
        }); QmpEventSubscription good = client.subscribe()) {
            var waiting = good.await(e -> {
                throw new IllegalArgumentException("predicate bug");
            }, null);
            server.event("STOP", null);
            assertThat(failure(waiting)).isInstanceOf(IllegalArgumentException.class).hasMessage("predicate bug");
            server.event("RESUME", null);
            assertThat(await(good.next()).name()).isEqualTo("RESUME");
            assertThat(bad.poll()).isEmpty();
            var r = client.execute("still-alive", null);
            server.reply(server.readCommand(), "{}");
            assertThat(await(r)).isEqualTo(JsonObject.EMPTY);
        }
    }

    @Test
    void awaitTimesOut() throws Exception {
        connect(QmpClientOptions.defaults());
        try (QmpEventSubscription sub = client.subscribe()) {
            assertThat(failure(sub.await(e -> true, Duration.ofMillis(100)))).isInstanceOf(QmpTimeoutException.class);
        }
    }

    @Test
    void connectRetriesUntilTheSocketAppears() throws Exception {
        server.close();
        FakeQmpServer[] late = new FakeQmpServer[1];
        var path = server.socket();
        var future = QmpClient.connect(path, QmpClientOptions.builder().retry(true).build());
        Thread.sleep(300);
        assertThat(future).isNotDone();
        try (FakeQmpServer s = FakeQmpServer.at(path)) {
            late[0] = s;
            s.accept();
            s.handshake(FakeQmpServer.GREETING_OOB);
            client = await(future);
            assertThat(client.isOpen()).isTrue();
        }
    }

    @Test
    void connectGivesUpAfterTheTimeout() throws Exception {
        server.close();
        var future = QmpClient.connect(server.socket(),
                QmpClientOptions.builder().retry(true).connectTimeout(Duration.ofMillis(300)).build());
        assertThat(failure(future)).isInstanceOf(QmpTimeoutException.class)
                .hasMessage("cannot connect to QMP socket " + server.socket() + " within 300 ms: no such file (is QEMU "
                        + "running, with -qmp unix:" + server.socket() + ",server=on?)");
    }

    @Test
    void aMissingSocketFailsAtOnceByDefault() throws Exception {
        server.close();
        long t0 = System.nanoTime();
        var future = QmpClient.connect(server.socket(), QmpClientOptions.defaults());
        assertThat(failure(future)).isInstanceOf(QmpException.class).isNotInstanceOf(QmpTimeoutException.class)
                .hasMessageStartingWith("cannot connect to QMP socket " + server.socket() + ": no such file");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(QmpClientOptions.DEFAULT_CONNECT_TIMEOUT);
    }

    @Test
    void aSocketNobodyListensOnFailsAtOnceSayingSo() throws Exception {
        server.close();
        java.nio.file.Files.createDirectories(server.socket().getParent()); // close() removed it
        // Bound and closed: the file stays, nothing listens (QEMU killed without removing its socket).
        try (java.nio.channels.ServerSocketChannel s = java.nio.channels.ServerSocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            s.bind(java.net.UnixDomainSocketAddress.of(server.socket()));
        }
        try {
            var future = QmpClient.connect(server.socket(), QmpClientOptions.defaults());
            assertThat(failure(future)).isInstanceOf(QmpException.class).hasMessage("cannot connect to QMP socket "
                    + server.socket() + ": connection refused (nothing listens on it: is QEMU running?)");
        } finally {
            java.nio.file.Files.deleteIfExists(server.socket());
            java.nio.file.Files.deleteIfExists(server.socket().getParent());
        }
    }

    @Test
    void aRegularFileIsNotASocket() throws Exception {
        server.close();
        java.nio.file.Files.createDirectories(server.socket().getParent()); // close() removed it
        java.nio.file.Files.writeString(server.socket(), "x");
        try {
            var future = QmpClient.connect(server.socket(), QmpClientOptions.defaults());
            assertThat(failure(future)).hasMessage("cannot connect to QMP socket " + server.socket()
                    + ": not a socket but a regular file");
        } finally {
            java.nio.file.Files.deleteIfExists(server.socket());
            java.nio.file.Files.deleteIfExists(server.socket().getParent());
        }
    }

    @Test
    void missingGreetingTimesOut() throws Exception {
        var future = QmpClient.connect(server.socket(),
                QmpClientOptions.builder().connectTimeout(Duration.ofMillis(500)).build());
        server.accept();
        assertThat(failure(future)).isInstanceOf(QmpTimeoutException.class).hasMessageContaining("greeting");
    }

    @Test
    void fdPassingOverNioIsRefusedWithAClearMessage() throws Exception {
        connect(QmpClientOptions.builder().transport(QmpTransport.NIO).build());
        assertThat(client.canPassFds()).isFalse();
        assertThat(failure(client.getfd("x", 0))).isInstanceOf(QmpException.class)
                .hasMessageContaining("epoll transport");
    }
}
