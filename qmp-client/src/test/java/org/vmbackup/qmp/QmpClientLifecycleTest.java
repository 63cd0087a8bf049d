package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Closing, shared threads, listener registration and the fd-passing wire format, against the fake server. */
class QmpClientLifecycleTest {
    private FakeQmpServer server;

    @BeforeEach
    void setUp() throws Exception {
        server = new FakeQmpServer();
    }

    @AfterEach
    void tearDown() throws Exception {
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
    void tcpWorksOnBothTransportsWithoutFdPassing() throws Exception {
        for (QmpTransport transport : List.of(QmpTransport.AUTO, QmpTransport.NIO)) {
            try (FakeQmpServer tcp = FakeQmpServer.tcp()) {
                var future = QmpClient.connect(tcp.address(), QmpClientOptions.builder().transport(transport).build());
                tcp.accept();
                tcp.handshake(FakeQmpServer.GREETING_NO_OOB);
                try (QmpClient client = future.get(10, TimeUnit.SECONDS)) {
                    var r = client.execute("query-status", null);
                    tcp.reply(tcp.readCommand(), "{\"status\": \"running\", \"running\": true}");
                    assertThat(r.get(10, TimeUnit.SECONDS).get("status").asString()).isEqualTo("running");
                    assertThat(client.canPassFds()).isFalse();
                    assertThat(failure(client.getfd("x", 0))).hasMessageContaining("epoll transport");
                }
            }
        }
    }

    @Test
    void jdkFileDescriptorWithoutAddOpensFailsWithAHint() throws Exception {
        try (QmpClient client = FakeQmpServer.connect(server, QmpClientOptions.defaults(),
                FakeQmpServer.GREETING_OOB)) {
            var f = client.getfd("x", java.io.FileDescriptor.out);
            assertThat(failure(f)).isInstanceOf(QmpException.class).hasMessageContaining("--add-opens");
        }
    }

    @Test
    void closeFailsPendingCommandsAndWaitingSubscriptions() throws Exception {
        QmpClient client = FakeQmpServer.connect(server, QmpClientOptions.defaults(), FakeQmpServer.GREETING_OOB);
        var pending = client.execute("query-status", null);
        var waiting = client.subscribe().next();
        server.readCommand();
        client.close();
        assertThat(failure(pending)).isInstanceOf(QmpConnectionClosedException.class)
                .hasMessageContaining("closed by the client");
        assertThat(failure(waiting)).isInstanceOf(QmpConnectionClosedException.class);
        assertThat(failure(client.execute("query-status", null))).isInstanceOf(QmpConnectionClosedException.class);
        assertThat(client.closeFuture()).isDone();
        client.close();
    }

    @Test
    void sharedEventLoopAndCallbackExecutorAreUsedAndNotShutDown() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ExecutorService callbacks = Executors.newSingleThreadExecutor(r -> new Thread(r, "my-callbacks"));
        try {
            var options = QmpClientOptions.builder().transport(QmpTransport.NIO).eventLoopGroup(group)
                    .callbackExecutor(callbacks).build();
            QmpClient client = FakeQmpServer.connect(server, options, FakeQmpServer.GREETING_OOB);
            var thread = client.execute("x", null).thenApply(v -> Thread.currentThread().getName());
            server.reply(server.readCommand(), "{}");
            assertThat(thread.get(10, TimeUnit.SECONDS)).isEqualTo("my-callbacks");
            client.close();
            assertThat(group.isShuttingDown()).isFalse();
            assertThat(callbacks.isShutdown()).isFalse();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            callbacks.shutdown();
        }
    }

    @Test
    void closedListenerRegistrationStopsDelivery() throws Exception {
        try (QmpClient client = FakeQmpServer.connect(server, QmpClientOptions.defaults(),
                FakeQmpServer.GREETING_OOB); QmpEventSubscription all = client.subscribe()) {
            List<String> seen = new CopyOnWriteArrayList<>();
            AutoCloseable reg = client.addListener(e -> seen.add(e.name()));
            server.event("STOP", null);
            all.next().get(10, TimeUnit.SECONDS);
            // Subscriptions get an event on arrival, listeners on the callback pool: wait for the listener's copy.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (seen.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            reg.close();
            server.event("RESUME", null);
            all.next().get(10, TimeUnit.SECONDS);
            // Listener calls are serialized: a probe listener added now runs after any earlier delivery.
            var probe = new java.util.concurrent.CompletableFuture<Void>();
            try (AutoCloseable p = client.addListener(e -> probe.complete(null))) {
                server.event("PROBE", null);
                probe.get(10, TimeUnit.SECONDS);
            }
            assertThat(seen).containsExactly("STOP");
        }
    }

    @Test
    void fdTransferSendsAResetByteBeforeTheCommandAndIgnoresTheParseErrors() throws Exception {
        try (QmpClient client = FakeQmpServer.connect(server, QmpClientOptions.defaults(),
                FakeQmpServer.GREETING_OOB)) {
            assertThat(client.canPassFds()).isTrue();
            io.netty.channel.unix.FileDescriptor[] pipe = io.netty.channel.unix.FileDescriptor.pipe();
            try {
                var done = client.getfd("vmstate", pipe[1]);
                byte[] line = server.readLineBytes();
                // [Netty's dummy byte][0xFF]{"execute":"getfd",...}
                assertThat(line[1]).isEqualTo((byte) 0xFF);
                JsonObject cmd = Json.parse(new String(Arrays.copyOfRange(line, 2, line.length),
                        StandardCharsets.UTF_8)).asObject();
                assertThat(cmd.get("execute").asString()).isEqualTo("getfd");
                assertThat(cmd.get("arguments").get("fdname").asString()).isEqualTo("vmstate");
                server.send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray 'x'\"}}\r\n");
                server.send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\u00ff'\"}}\r\n");
                server.reply(cmd, "{}");
                done.get(10, TimeUnit.SECONDS);
                // After the transfer, an id-less error is attributed again.
                var next = client.execute("next", null);
                server.readCommand();
                server.send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray 'y'\"}}\r\n");
                assertThat(failure(next)).isInstanceOf(QmpErrorException.class);
            } finally {
                pipe[0].close();
                pipe[1].close();
            }
        }
    }
}
