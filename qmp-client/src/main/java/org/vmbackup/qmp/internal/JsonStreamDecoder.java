package org.vmbackup.qmp.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.IOException;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpProtocolException;

/**
 * Splits the byte stream from QEMU into JSON objects with Jackson's non-blocking parser (values may span
 * reads and lines; QEMU's {@code pretty=on} output works too) and passes each {@link JsonObject} on.
 *
 * <p>A message larger than the limit, malformed JSON or a non-object value raises a
 * {@link QmpProtocolException} through {@code exceptionCaught}; later input is discarded, because the stream
 * cannot be resynchronized.
 */
public final class JsonStreamDecoder extends ChannelInboundHandlerAdapter {
    private static final int CHUNK = 64 * 1024;

    private final int maxMessageSize;
    private final JsonParser parser;
    private final ByteArrayFeeder feeder;
    private final JsonTreeBuilder builder = new JsonTreeBuilder();
    // Jackson reads fed bytes in place until it asks for more input, so one array is reused per chunk.
    private final byte[] chunk = new byte[CHUNK];
    private long fed;
    private long lastValueEnd;
    private boolean failed;

    /**
     * A decoder.
     *
     * @param maxMessageSize the largest accepted message in bytes
     */
    public JsonStreamDecoder(int maxMessageSize) {
        this.maxMessageSize = maxMessageSize;
        JsonFactory factory = org.vmbackup.qmp.JsonCodec.factory(maxMessageSize);
        try {
            this.parser = factory.createNonBlockingByteArrayParser();
        } catch (IOException e) {
            throw new IllegalStateException("cannot create a non-blocking JSON parser", e);
        }
        this.feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            while (buf.isReadable() && !failed) {
                int n = Math.min(buf.readableBytes(), CHUNK);
                buf.readBytes(chunk, 0, n);
                feeder.feedInput(chunk, 0, n);
                fed += n;
                drain(ctx);
            }
        } catch (QmpProtocolException e) {
            fail(ctx, e);
        } catch (JsonProcessingException e) {
            // Limit violations (nesting, number length) carry no location, so report the stream position.
            long at = e.getLocation() != null ? e.getLocation().getByteOffset() : fed;
            fail(ctx, new QmpProtocolException("malformed JSON from QEMU at byte " + at + ": "
                    + e.getOriginalMessage(), e));
        } catch (IOException | RuntimeException e) {
            fail(ctx, new QmpProtocolException("cannot parse QMP stream at byte " + fed + ": " + e, e));
        } finally {
            buf.release();
        }
    }

    private void drain(ChannelHandlerContext ctx) throws IOException {
        JsonToken t;
        while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
            Json value = builder.accept(t, parser);
            if (value != null) {
                lastValueEnd = parser.currentLocation().getByteOffset();
                if (!(value instanceof JsonObject o)) {
                    throw new QmpProtocolException("QEMU sent a JSON " + value.typeName()
                            + " where a message object was expected, ending at byte " + lastValueEnd);
                }
                ctx.fireChannelRead(o);
                if (failed) {
                    return;
                }
            }
        }
        if (fed - lastValueEnd > maxMessageSize) {
            throw new QmpProtocolException("QMP message from QEMU exceeds the limit of " + maxMessageSize
                    + " bytes (started at byte " + lastValueEnd + "; raise QmpClientOptions.maxMessageSize)");
        }
    }

    private void fail(ChannelHandlerContext ctx, QmpProtocolException e) {
        failed = true;
        builder.reset();
        ctx.fireExceptionCaught(e);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        builder.reset();
        parser.close();
        super.channelInactive(ctx);
    }
}
