package org.vmbackup.qmp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpProtocolException;

/** Framing of QEMU's byte stream into JSON objects, including hostile input. */
class JsonStreamDecoderTest {
    private static final int LIMIT = 16 << 20;
    private final List<JsonObject> objects = new ArrayList<>();
    private final List<Throwable> errors = new ArrayList<>();
    private EmbeddedChannel channel = newChannel();

    private EmbeddedChannel newChannel() {
        objects.clear();
        errors.clear();
        return new EmbeddedChannel(new JsonStreamDecoder(LIMIT), new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                objects.add((JsonObject) msg);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                errors.add(cause);
            }
        });
    }

    @AfterEach
    void noLeftovers() {
        assertThat(channel.finishAndReleaseAll()).isFalse();
    }

    private void feed(String s) {
        channel.writeInbound(Unpooled.copiedBuffer(s, StandardCharsets.UTF_8));
    }

    @Test
    void everySplitPointGivesTheSameMessages() {
        String stream = "{\"QMP\": {\"version\": {}}}\r\n{\"return\": {\"a\": [1, 2.5, \"\\u00e9\"]}, \"id\": \"vmb-1\"}"
                + "\r\n{\"event\": \"STOP\"}\r\n";
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        for (int cut = 0; cut <= bytes.length; cut++) {
            channel.finishAndReleaseAll();
            channel = newChannel();
            channel.writeInbound(Unpooled.wrappedBuffer(bytes, 0, cut));
            channel.writeInbound(Unpooled.wrappedBuffer(bytes, cut, bytes.length - cut));
            assertThat(errors).isEmpty();
            assertThat(objects).hasSize(3);
            assertThat(objects.get(1).get("return").get("a").elements().get(2).asString()).isEqualTo("\u00e9");
        }
    }

    @Test
    void valuesWithoutSeparatorsOrAcrossLinesAreFramed() {
        feed("{\"a\":1}{\"b\":\n2\n}   {\"c\"");
        feed(":3}");
        assertThat(objects).extracting(o -> o.members().keySet().iterator().next()).containsExactly("a", "b", "c");
    }

    @Test
    void deepNestingIsAProtocolErrorNotAStackOverflow() {
        feed("{\"x\":" + "[".repeat(100_000));
        assertThat(errors).singleElement().isInstanceOf(QmpProtocolException.class);
        feed("]]]}");
        assertThat(objects).isEmpty();
        assertThat(errors).hasSize(1);
    }

    @Test
    void aTopLevelNonObjectIsAProtocolError() {
        feed("[1, 2]\n");
        assertThat(errors).singleElement().isInstanceOf(QmpProtocolException.class);
        assertThat(errors.get(0)).hasMessageContaining("array");
    }

    @Test
    void randomBytesOnlyEverYieldObjectsOrOneProtocolError() {
        Random random = new Random(42);
        long end = System.nanoTime() + 3_000_000_000L;
        String[] pieces = {"{", "}", "[", "]", "\"", ":", ",", "1", "-", "e", ".", "true", "nul", "\\", "\\u12",
            " ", "\n", "\"k\"", "{\"event\":\"X\"}", "\u00ff", "\u0000"};
        int runs = 0;
        while (System.nanoTime() < end) {
            channel.finishAndReleaseAll();
            channel = newChannel();
            StringBuilder sb = new StringBuilder();
            for (int i = random.nextInt(200); i > 0; i--) {
                sb.append(pieces[random.nextInt(pieces.length)]);
            }
            byte[] raw = new byte[random.nextInt(64)];
            random.nextBytes(raw);
            channel.writeInbound(Unpooled.copiedBuffer(sb.toString(), StandardCharsets.UTF_8));
            channel.writeInbound(Unpooled.wrappedBuffer(raw));
            assertThat(errors).hasSizeLessThanOrEqualTo(1).allMatch(e -> e instanceof QmpProtocolException);
            runs++;
        }
        assertThat(runs).isGreaterThan(100);
    }

    @Test
    void aMessageOverTheLimitIsReportedWhileItStreams() {
        feed("{\"return\": \"");
        byte[] chunk = "x".repeat(1 << 20).getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < 17 && errors.isEmpty(); i++) {
            channel.writeInbound(Unpooled.wrappedBuffer(chunk));
        }
        assertThat(errors).singleElement().satisfies(e -> assertThat(e).hasMessageContaining("exceeds the limit"));
        assertThat(objects).isEmpty();
        assertThat(Json.parse("{}")).isEqualTo(JsonObject.EMPTY);
    }
}
