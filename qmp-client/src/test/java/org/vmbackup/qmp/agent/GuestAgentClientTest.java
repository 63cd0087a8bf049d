package org.vmbackup.qmp.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpConnectionClosedException;
import org.vmbackup.qmp.QmpErrorClass;
import org.vmbackup.qmp.QmpErrorException;
import org.vmbackup.qmp.QmpProtocolException;
import org.vmbackup.qmp.QmpTimeoutException;

/** The framing and error corner cases of the guest agent channel, against a scripted agent. */
@Timeout(30)
class GuestAgentClientTest {
    private static final Duration SHORT = Duration.ofMillis(500);

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    private static GuestAgentClient connect(Path socket) throws Exception {
        return await(GuestAgentClient.builder(socket).timeout(SHORT).connectTimeout(SHORT).connect());
    }

    /** Answers sync like qemu-ga and everything else with {@code reply}. */
    private static FakeGuestAgent agent(String reply) throws Exception {
        return new FakeGuestAgent(r -> FakeGuestAgent.isSync(r) ? FakeGuestAgent.syncReply(r) : reply);
    }

    @Test
    void typedCommandsDecodeTheAgentsReplies() throws Exception {
        try (FakeGuestAgent fake = new FakeGuestAgent(r -> {
            if (FakeGuestAgent.isSync(r)) {
                return FakeGuestAgent.syncReply(r);
            }
            return switch (r.require("execute").asString()) {
                case "guest-ping" -> "{\"return\": {}}\n";
                case "guest-info" -> "{\"return\": {\"version\": \"7.2.22\", \"supported_commands\": ["
                        + "{\"enabled\": true, \"name\": \"guest-fsfreeze-freeze\", \"success-response\": true},"
                        + "{\"enabled\": false, \"name\": \"guest-exec\", \"success-response\": true},"
                        + "{\"enabled\": true, \"name\": \"guest-shutdown\", \"success-response\": false}]}}\n";
                case "guest-fsfreeze-status" -> "{\"return\": \"frozen\"}\n";
                case "guest-fsfreeze-freeze" -> "{\"return\": 1}\n";
                case "guest-fsfreeze-freeze-list" -> "{\"return\": 2}\n";
                case "guest-fsfreeze-thaw" -> "{\"return\": 1}\n";
                default -> "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no\"}}\n";
            };
        }); GuestAgentClient qga = connect(fake.socket())) {
            await(qga.ping());
            GuestAgentInfo info = await(qga.info());
            assertThat(info.version()).isEqualTo("7.2.22");
            assertThat(info.supports("guest-fsfreeze-freeze")).isTrue();
            assertThat(info.supports("guest-exec")).isFalse();
            assertThat(info.supports("guest-nonexistent")).isFalse();
            assertThat(info.command("guest-shutdown").orElseThrow().successResponse()).isFalse();
            assertThat(await(qga.freezeStatus())).isEqualTo(GuestFsFreezeStatus.FROZEN);
            assertThat(await(qga.freeze())).isEqualTo(1);
            assertThat(await(qga.freezeList(List.of("/data", "/"), SHORT))).isEqualTo(2);
            assertThat(await(qga.thaw())).isEqualTo(1);

            // Every command is preceded by its own sync with a fresh id.
            List<JsonObject> requests = fake.requests();
            assertThat(requests).hasSize(2 * 6 + 1);
            for (int i = 2; i < requests.size(); i += 2) {
                assertThat(requests.get(i - 1).require("execute").asString()).isEqualTo("guest-sync-delimited");
            }
            assertThat(requests.stream().filter(FakeGuestAgent::isSync)
                    .map(r -> r.require("arguments").require("id").asLong()).distinct().count())
                    .isEqualTo(7);
            JsonObject list = requests.get(10);
            assertThat(list.require("execute").asString()).isEqualTo("guest-fsfreeze-freeze-list");
            assertThat(list.require("arguments").toJson()).isEqualTo("{\"mountpoints\":[\"/data\",\"/\"]}");
        }
    }

    @Test
    void staleRepliesAndNoiseBeforeTheSyncReplyAreDiscarded() throws Exception {
        try (FakeGuestAgent fake = new FakeGuestAgent(r -> FakeGuestAgent.isSync(r)
                // A late reply to an earlier call, a reply to someone else's sync, half a message, line noise,
                // then the agent's delimiter and our reply.
                ? "{\"return\": {}}\n{\"return\": 12345}\n{\"return\": \"fro\u0001\u0002garbage"
                        + FakeGuestAgent.syncReply(r)
                : "{\"return\": \"thawed\"}\n"); GuestAgentClient qga = connect(fake.socket())) {
            assertThat(await(qga.freezeStatus())).isEqualTo(GuestFsFreezeStatus.THAWED);
            assertThat(await(qga.freezeStatus())).isEqualTo(GuestFsFreezeStatus.THAWED);
        }
    }

    @Test
    void theSyncReplyMaySplitAcrossReadsAndLackTheDelimiter() throws Exception {
        // Older agents answer guest-sync-delimited's id without 0xFF when nothing was pending; accept it too.
        try (FakeGuestAgent fake = new FakeGuestAgent(r -> FakeGuestAgent.isSync(r)
                ? "{\"return\": " + r.require("arguments").require("id").asLong() + "}\n"
                : "{\"return\": {}}\n"); GuestAgentClient qga = connect(fake.socket())) {
            await(qga.ping());
        }
    }

    @Test
    void aSilentAgentTimesOutWithinTheBound() throws Exception {
        try (FakeGuestAgent fake = new FakeGuestAgent(r -> null)) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> connect(fake.socket()))
                    .isInstanceOf(QmpTimeoutException.class)
                    .hasMessageContaining("no reply from the guest agent")
                    .hasMessageContaining("guest-sync-delimited");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void aCommandThatTimesOutLeavesAReplyTheNextCallDiscards() throws Exception {
        AtomicInteger freezes = new AtomicInteger();
        try (FakeGuestAgent fake = new FakeGuestAgent(r -> {
            if (FakeGuestAgent.isSync(r)) {
                return FakeGuestAgent.syncReply(r);
            }
            if (r.require("execute").asString().equals("guest-fsfreeze-freeze") && freezes.getAndIncrement() == 0) {
                try {
                    Thread.sleep(SHORT.toMillis() * 2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return "{\"return\": 7}\n";
            }
            return "{\"return\": 0}\n";
        }); GuestAgentClient qga = connect(fake.socket())) {
            assertThatThrownBy(() -> await(qga.freeze(SHORT))).isInstanceOf(QmpTimeoutException.class)
                    .hasMessageContaining("guest-fsfreeze-freeze");
            // The late "7" arrives before the next sync reply and must not be taken as the thaw's answer.
            assertThat(await(qga.thaw())).isEqualTo(0);
        }
    }

    @Test
    void anErrorReplyIsATypedError() throws Exception {
        try (FakeGuestAgent fake = agent("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Command "
                + "guest-get-fsinfo has been disabled: the agent is in frozen state\"}}\n");
                GuestAgentClient qga = connect(fake.socket())) {
            assertThatThrownBy(() -> await(qga.execute("guest-get-fsinfo", null, SHORT)))
                    .isInstanceOfSatisfying(QmpErrorException.class, e -> {
                        assertThat(e.errorClass()).isEqualTo(QmpErrorClass.CommandNotFound);
                        assertThat(e.command()).isEqualTo("guest-get-fsinfo");
                        assertThat(e.description()).contains("frozen state");
                    });
        }
    }

    @Test
    void garbageAsAReplyIsAProtocolErrorAndTheNextCallResynchronises() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        try (FakeGuestAgent fake = new FakeGuestAgent(r -> {
            if (FakeGuestAgent.isSync(r)) {
                return FakeGuestAgent.syncReply(r);
            }
            return calls.getAndIncrement() == 0 ? "}}not json{{\n" : "{\"return\": {}}\n";
        }); GuestAgentClient qga = connect(fake.socket())) {
            assertThatThrownBy(() -> await(qga.ping())).isInstanceOf(QmpProtocolException.class)
                    .hasMessageContaining("guest-ping");
            await(qga.ping());
        }
    }

    @Test
    void aWrongTypeInAReplyIsAProtocolError() throws Exception {
        try (FakeGuestAgent fake = agent("{\"return\": \"melted\"}\n"); GuestAgentClient qga = connect(fake.socket())) {
            assertThatThrownBy(() -> await(qga.freezeStatus())).isInstanceOf(QmpProtocolException.class)
                    .hasMessageContaining("melted");
            assertThatThrownBy(() -> await(qga.thaw())).isInstanceOf(QmpProtocolException.class);
        }
    }

    @Test
    void aDroppedConnectionFailsTheCallAndClosedClientsRefuse() throws Exception {
        try (FakeGuestAgent fake = agent(null)) {
            GuestAgentClient qga = connect(fake.socket());
            try {
                CompletableFuture<Void> ping = qga.ping();
                Thread.sleep(100);
                fake.disconnect();
                assertThatThrownBy(() -> await(ping)).isInstanceOf(QmpConnectionClosedException.class);
            } finally {
                qga.close();
            }
            assertThat(qga.isOpen()).isFalse();
            assertThatThrownBy(() -> await(qga.ping())).isInstanceOf(QmpConnectionClosedException.class);
        }
    }

    @Test
    void noSocketIsAConnectionError() {
        assertThatThrownBy(() -> connect(Path.of("/nonexistent/qga.sock")))
                .isInstanceOf(QmpConnectionClosedException.class).hasMessageContaining("/nonexistent/qga.sock");
    }

    @Test
    void theDecoderDropsEverythingBeforeADelimiterAndSkipsGarbageUntilTheNext() {
        QgaDecoder d = new QgaDecoder(1 << 20);
        byte[] a = "{\"return\": {\"half".getBytes();
        assertThat(d.feed(a, 0, a.length)).isEmpty();
        byte[] b = "\u00ff{\"return\": 5}\n{\"ret".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(d.feed(b, 0, b.length)).containsExactly(new QgaDecoder.Value(Json.parse("{\"return\":5}")));
        byte[] c = "urn\": 6}\n]]] {\"return\": 7}\n".getBytes();
        List<QgaDecoder.Item> items = d.feed(c, 0, c.length);
        assertThat(items).hasSize(2);
        assertThat(items.get(0)).isEqualTo(new QgaDecoder.Value(Json.parse("{\"return\":6}")));
        assertThat(items.get(1)).isInstanceOf(QgaDecoder.Garbage.class);
        byte[] e = "{\"return\": 8}\u00ff{\"return\": 9}".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(d.feed(e, 0, e.length)).containsExactly(new QgaDecoder.Value(Json.parse("{\"return\":9}")));
    }

    @Test
    void theDecoderBoundsAValue() {
        QgaDecoder d = new QgaDecoder(64);
        byte[] big = ("{\"return\": \"" + "x".repeat(200)).getBytes();
        assertThat(d.feed(big, 0, big.length)).singleElement().isInstanceOf(QgaDecoder.Garbage.class);
    }
}
