package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Failure paths of the QMP client found in a safety review, each against the scripted fake server. */
@Timeout(30)
class QmpClientSafetyTest {
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

    private static Throwable failure(java.util.concurrent.CompletableFuture<?> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("future completed normally");
    }

    @Test
    void aListenerThrowingAnErrorDoesNotStopLaterListenerCalls() throws Exception {
        client = FakeQmpServer.connect(server, QmpClientOptions.defaults(), FakeQmpServer.GREETING_OOB);
        List<String> seen = new CopyOnWriteArrayList<>();
        CountDownLatch both = new CountDownLatch(2);
        try (AutoCloseable bad = client.addListener(e -> {
            throw new AssertionError("a test assertion inside a listener");
        }); AutoCloseable good = client.addListener(e -> {
            seen.add(e.name());
            both.countDown();
        })) {
            server.event("STOP", null);
            server.event("RESUME", null);
            assertThat(both.await(10, TimeUnit.SECONDS)).as("events delivered after the throwing listener").isTrue();
        }
        assertThat(seen).containsExactly("STOP", "RESUME");
    }

    @Test
    void lateParseErrorsOfATimedOutFdCommandDoNotFailTheNextCommand() throws Exception {
        client = FakeQmpServer.connect(server, QmpClientOptions.builder().commandTimeout(Duration.ofMillis(300))
                .build(), FakeQmpServer.GREETING_OOB);
        assertThat(client.canPassFds()).isTrue();
        io.netty.channel.unix.FileDescriptor[] pipe = io.netty.channel.unix.FileDescriptor.pipe();
        try {
            var getfd = client.getfd("vmstate", pipe[1]);
            byte[] line = server.readLineBytes();
            JsonObject cmd = Json.parse(new String(Arrays.copyOfRange(line, 2, line.length),
                    StandardCharsets.UTF_8)).asObject();
            // QEMU's main loop is busy: the getfd times out before QEMU even parsed its bytes.
            assertThat(failure(getfd)).isInstanceOf(QmpTimeoutException.class);
            var next = client.execute(QmpCommand.raw("query-status", null), Duration.ofSeconds(10));
            JsonObject nextCmd = server.readCommand();
            // Now QEMU reads the stream: the parse errors of the dummy byte, the late getfd reply, the next reply.
            server.send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray 'x'\"}}\r\n");
            server.send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\u00ff'\"}}\r\n");
            server.reply(cmd, "{}");
            server.reply(nextCmd, "\"running\"");
            assertThat(next.get(10, TimeUnit.SECONDS).asString()).isEqualTo("running");
        } finally {
            pipe[0].close();
            pipe[1].close();
        }
    }

    @Test
    void aReplyDecoderThrowingAnErrorFailsItsCommandInsteadOfLeavingItPending() throws Exception {
        client = FakeQmpServer.connect(server, QmpClientOptions.defaults(), FakeQmpServer.GREETING_OOB);
        QmpCommand<String> broken = new QmpCommand<>() {
            @Override
            public String name() {
                return "query-status";
            }

            @Override
            public void writeArguments(com.fasterxml.jackson.core.JsonGenerator gen) {
            }

            @Override
            public String decode(Json result) {
                throw new AssertionError("a decoder bug");
            }
        };
        var f = client.execute(broken, Duration.ofSeconds(20));
        server.reply(server.readCommand(), "{}");
        assertThat(failure(f)).isInstanceOf(QmpProtocolException.class).hasMessageContaining("a decoder bug");
    }

    @Test
    void aFilterOrPredicateThrowingAnErrorDoesNotBreakTheConnection() throws Exception {
        client = FakeQmpServer.connect(server, QmpClientOptions.defaults(), FakeQmpServer.GREETING_OOB);
        try (QmpEventSubscription badFilter = client.subscribe(e -> {
            throw new AssertionError("a filter bug");
        }); QmpEventSubscription badPredicate = client.subscribe();
                QmpEventSubscription good = client.subscribe()) {
            var waiting = badPredicate.await(e -> {
                throw new AssertionError("a predicate bug");
            }, Duration.ofSeconds(20));
            server.event("STOP", null);
            assertThat(good.next().get(10, TimeUnit.SECONDS).name()).isEqualTo("STOP");
            assertThat(failure(waiting)).hasMessageContaining("a predicate bug");
            assertThat(client.isOpen()).isTrue();
            var next = client.execute(QmpCommand.raw("query-status", null), Duration.ofSeconds(10));
            server.reply(server.readCommand(), "\"running\"");
            assertThat(next.get(10, TimeUnit.SECONDS).asString()).isEqualTo("running");
        }
    }

    @Test
    @Timeout(15)
    void aTimeoutTooLongForNanosecondsStillSendsTheCommand() throws Exception {
        client = FakeQmpServer.connect(server, QmpClientOptions.defaults(), FakeQmpServer.GREETING_OOB);
        // e.g. ChronoUnit.FOREVER.getDuration() for "no limit": its nanoseconds overflow a long.
        var f = client.execute(QmpCommand.raw("query-status", null), Duration.ofSeconds(Long.MAX_VALUE));
        server.reply(server.readCommand(), "\"running\"");
        assertThat(f.get(10, TimeUnit.SECONDS).asString()).isEqualTo("running");
    }

    @Test
    @Timeout(90)
    void aFloodOfEventsForASlowListenerDoesNotQueueWithoutBoundAndLosesNothing() throws Exception {
        int capacity = 1000;
        int flood = 100_000;
        client = FakeQmpServer.connect(server, QmpClientOptions.builder().subscriptionCapacity(capacity).build(),
                FakeQmpServer.GREETING_OOB);
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger delivered = new java.util.concurrent.atomic.AtomicInteger();
        try (AutoCloseable slow = client.addListener(e -> {
            try {
                release.await();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            delivered.incrementAndGet();
        })) {
            StringBuilder events = new StringBuilder();
            for (int i = 0; i < flood; i++) {
                events.append("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": \"STOP\"}\r\n");
            }
            byte[] bytes = events.toString().getBytes(StandardCharsets.US_ASCII);
            var writer = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    server.sendBytes(bytes);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            // Wait until the client stops taking events (its backlog no longer changes) or has taken them all.
            int last = -1;
            long stableSince = System.nanoTime();
            long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!writer.isDone() && System.nanoTime() < giveUp) {
                int now = client.listenerBacklog();
                if (now != last) {
                    last = now;
                    stableSince = System.nanoTime();
                } else if (System.nanoTime() - stableSince > TimeUnit.SECONDS.toNanos(2)) {
                    break;
                }
                Thread.sleep(100);
            }
            // One socket read's worth of events may still arrive after the client stops reading.
            assertThat(client.listenerBacklog()).isLessThanOrEqualTo(capacity + 5_000);
            release.countDown();
            writer.get(30, TimeUnit.SECONDS);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (delivered.get() < flood && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            assertThat(delivered.get()).isEqualTo(flood);
            var next = client.execute(QmpCommand.raw("query-status", null), Duration.ofSeconds(10));
            server.reply(server.readCommand(), "\"running\"");
            assertThat(next.get(10, TimeUnit.SECONDS).asString()).isEqualTo("running");
        }
    }

    // Epoll (the transport AUTO picks on Linux) reports the hang-up while reads are paused; NIO does not, so
    // there a disconnect during a pause shows when the listener catches up or at the command's timeout.
    @Test
    void aDisconnectWhileReadsArePausedForASlowListenerStillFailsPendingCommandsPromptly() throws Exception {
        QmpTransport transport = QmpTransport.EPOLL;
        int capacity = 100;
        client = FakeQmpServer.connect(server, QmpClientOptions.builder().subscriptionCapacity(capacity)
                .transport(transport).build(), FakeQmpServer.GREETING_OOB);
        CountDownLatch release = new CountDownLatch(1);
        try (AutoCloseable slow = client.addListener(e -> {
            try {
                release.await();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        })) {
            var pending = client.execute(QmpCommand.raw("query-status", null), Duration.ofSeconds(25));
            server.readCommand();
            StringBuilder events = new StringBuilder();
            for (int i = 0; i < 20 * capacity; i++) {
                events.append("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": \"STOP\"}\r\n");
            }
            server.send(events.toString());
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (client.listenerBacklog() < capacity && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            server.disconnect();
            try {
                assertThat(failure(pending)).isInstanceOf(QmpConnectionClosedException.class);
            } finally {
                release.countDown();
            }
        }
    }

    @Test
    void aNumberWithAHugeExponentIsRejectedNotExpandedDigitByDigit() throws Exception {
        client = FakeQmpServer.connect(server, QmpClientOptions.defaults(), FakeQmpServer.GREETING_OOB);
        QmpCommand<Long> count = new QmpCommand<>() {
            @Override
            public String name() {
                return "query-count";
            }

            @Override
            public void writeArguments(com.fasterxml.jackson.core.JsonGenerator gen) {
            }

            @Override
            public Long decode(Json result) {
                return result.asLong();
            }
        };
        var f = client.execute(count, Duration.ofSeconds(20));
        JsonObject cmd = server.readCommand();
        // 12 bytes on the wire; written out in full (as the error message did) 50 million digits.
        server.send("{\"return\": 1e50000000, \"id\": " + cmd.get("id").toJson() + "}\r\n");
        Throwable t = failure(f);
        assertThat(t).isInstanceOf(QmpException.class);
        assertThat(t.getMessage().length()).as("error message length").isLessThan(10_000);
    }

    @Test
    void anAwaitWithATimeoutTooLongForNanosecondsWaitsInsteadOfOrphaningItsWaiter() throws Exception {
        client = FakeQmpServer.connect(server, QmpClientOptions.defaults(), FakeQmpServer.GREETING_OOB);
        try (QmpEventSubscription sub = client.subscribe()) {
            var resume = sub.await(e -> e.name().equals("RESUME"), Duration.ofSeconds(Long.MAX_VALUE));
            server.event("STOP", null);
            server.event("RESUME", null);
            assertThat(resume.get(10, TimeUnit.SECONDS).name()).isEqualTo("RESUME");
        }
    }
}
