package org.vmbackup.nbd.internal;

import static org.vmbackup.nbd.internal.NbdConstants.*;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdCapabilities;
import org.vmbackup.nbd.NbdExport;

/**
 * The fixed-newstyle handshake of one connection: greeting, client flags, then option haggling until
 * EXPORT_NAME or a successful GO, when it replaces itself with the transmission decoder and handler (bytes
 * already received are handed on). Unknown options get ERR_UNSUP; protocol violations (bad magic, bad client
 * flags, oversized options, too many options, the handshake timeout) close the connection.
 */
public final class HandshakeHandler extends ByteToMessageDecoder {
    private static final Logger log = LoggerFactory.getLogger(HandshakeHandler.class);
    private static final int OPTION_HEADER = 16;

    private final ServerConfig config;
    private boolean clientFlagsRead;
    private boolean noZeroes;
    private boolean structuredReplies;
    private String metaExport;
    private boolean metaSelected;
    private boolean tlsActive;
    private int options;
    private boolean finished;
    private ScheduledFuture<?> timeout;

    /** A handshake for a new connection of a server with this configuration. */
    public HandshakeHandler(ServerConfig config) {
        this.config = config;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        long ms = config.handshakeTimeout().toMillis();
        timeout = ctx.executor().schedule(() -> {
            log.debug("{}: handshake timed out after {} ms", ctx.channel(), ms);
            ctx.close();
        }, ms, TimeUnit.MILLISECONDS);
        ctx.writeAndFlush(OptionReplies.greeting(ctx.alloc()));
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelTimeout();
        super.channelInactive(ctx);
    }

    private void cancelTimeout() {
        if (timeout != null) {
            timeout.cancel(false);
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (finished) {
            return;
        }
        if (!clientFlagsRead) {
            if (in.readableBytes() < 4) {
                return;
            }
            long flags = in.readUnsignedInt();
            if ((flags & ~(long) (CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES)) != 0) {
                hardClose(ctx, in, "unknown client flags 0x" + Long.toHexString(flags));
                return;
            }
            noZeroes = (flags & CLIENT_FLAG_NO_ZEROES) != 0;
            clientFlagsRead = true;
        }
        while (!finished && ctx.channel().isActive() && in.readableBytes() >= OPTION_HEADER) {
            int start = in.readerIndex();
            long magic = in.getLong(start);
            int option = in.getInt(start + 8);
            long length = in.getUnsignedInt(start + 12);
            if (magic != IHAVEOPT) {
                hardClose(ctx, in, "bad option magic 0x" + Long.toHexString(magic));
                return;
            }
            if (length > MAX_OPTION_LENGTH) {
                hardClose(ctx, in, "option " + option + " length " + length + " exceeds " + MAX_OPTION_LENGTH);
                return;
            }
            if (in.readableBytes() < OPTION_HEADER + length) {
                return;
            }
            if (++options > MAX_OPTIONS) {
                hardClose(ctx, in, "more than " + MAX_OPTIONS + " options");
                return;
            }
            in.skipBytes(OPTION_HEADER);
            ByteBuf data = in.readSlice((int) length);
            option(ctx, in, option, data);
        }
    }

    private void hardClose(ChannelHandlerContext ctx, ByteBuf in, String why) {
        log.debug("{}: {}, closing", ctx.channel(), why);
        in.skipBytes(in.readableBytes());
        finished = true;
        ctx.close();
    }

    private void option(ChannelHandlerContext ctx, ByteBuf in, int option, ByteBuf data) {
        if (config.shuttingDown().get() && option != OPT_ABORT) {
            if (option == OPT_EXPORT_NAME) {
                hardClose(ctx, in, "EXPORT_NAME while shutting down");
            } else {
                replyError(ctx, option, REP_ERR_SHUTDOWN, "server shutting down");
            }
            return;
        }
        if (config.tlsRequired() && !tlsActive && option != OPT_STARTTLS && option != OPT_ABORT) {
            if (option == OPT_EXPORT_NAME) {
                hardClose(ctx, in, "EXPORT_NAME before STARTTLS");
            } else {
                replyError(ctx, option, REP_ERR_TLS_REQD, "TLS required");
            }
            return;
        }
        switch (option) {
            case OPT_EXPORT_NAME -> exportName(ctx, in, data);
            case OPT_ABORT -> ctx.writeAndFlush(OptionReplies.ack(ctx.alloc(), option))
                    .addListener(ChannelFutureListener.CLOSE);
            case OPT_LIST -> list(ctx, data);
            case OPT_STARTTLS -> startTls(ctx, in, data);
            case OPT_INFO, OPT_GO -> infoOrGo(ctx, option, data);
            case OPT_STRUCTURED_REPLY -> {
                if (data.isReadable()) {
                    replyError(ctx, option, REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
                } else {
                    structuredReplies = true;
                    ctx.writeAndFlush(OptionReplies.ack(ctx.alloc(), option));
                }
            }
            case OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT -> metaContext(ctx, option, data);
            default -> replyError(ctx, option, REP_ERR_UNSUP, "option " + option + " not supported");
        }
    }

    private void replyError(ChannelHandlerContext ctx, int option, int type, String message) {
        ctx.writeAndFlush(OptionReplies.error(ctx.alloc(), option, type, message));
    }

    private boolean visible(ExportEntry e) {
        return e != null && (tlsActive || !e.export().tlsRequired());
    }

    private void list(ChannelHandlerContext ctx, ByteBuf data) {
        if (data.isReadable()) {
            replyError(ctx, OPT_LIST, REP_ERR_INVALID, "LIST takes no data");
            return;
        }
        for (ExportEntry e : config.exports().all()) {
            if (visible(e)) {
                ctx.write(OptionReplies.server(ctx.alloc(), e.export().name(), e.export().description()));
            }
        }
        ctx.writeAndFlush(OptionReplies.ack(ctx.alloc(), OPT_LIST));
    }

    private void startTls(ChannelHandlerContext ctx, ByteBuf in, ByteBuf data) {
        if (config.tls() == null) {
            replyError(ctx, OPT_STARTTLS, REP_ERR_POLICY, "TLS not configured");
            return;
        }
        if (data.isReadable() || tlsActive) {
            replyError(ctx, OPT_STARTTLS, REP_ERR_INVALID, tlsActive ? "TLS already active" : "STARTTLS takes no data");
            return;
        }
        // Anything the client sent after STARTTLS but before the TLS handshake is not to be trusted.
        in.skipBytes(in.readableBytes());
        SslHandler ssl = new SslHandler(config.tls().newEngine(ctx.alloc()), true);
        ctx.pipeline().addFirst("nbd-tls", ssl);
        ctx.writeAndFlush(OptionReplies.ack(ctx.alloc(), OPT_STARTTLS));
        tlsActive = true;
        structuredReplies = false;
        metaExport = null;
        metaSelected = false;
        ssl.handshakeFuture().addListener(f -> {
            if (!f.isSuccess()) {
                log.debug("{}: TLS handshake failed: {}", ctx.channel(), String.valueOf(f.cause()));
                ctx.close();
            }
        });
    }

    private NbdCapabilities caps(ExportEntry e) {
        NbdExport x = e.export();
        return NbdCapabilities.of(x.backend(), x.readOnly());
    }

    private void infoOrGo(ChannelHandlerContext ctx, int option, ByteBuf data) {
        OptionParser.GoRequest go = OptionParser.go(data);
        if (go == null) {
            replyError(ctx, option, REP_ERR_INVALID, "malformed INFO/GO payload");
            return;
        }
        ExportEntry entry = config.exports().resolve(go.name());
        if (entry == null) {
            replyError(ctx, option, REP_ERR_UNKNOWN, "no such export");
            return;
        }
        if (!visible(entry)) {
            replyError(ctx, option, REP_ERR_TLS_REQD, "export requires TLS");
            return;
        }
        NbdCapabilities caps = caps(entry);
        NbdExport export = entry.export();
        ctx.write(OptionReplies.infoExport(ctx.alloc(), option, export.backend().size(),
                TransmissionSession.transmissionFlags(caps, structuredReplies)));
        if (go.infos().contains(INFO_NAME)) {
            ctx.write(OptionReplies.infoString(ctx.alloc(), option, INFO_NAME, export.name()));
        }
        if (go.infos().contains(INFO_DESCRIPTION) && !export.description().isEmpty()) {
            ctx.write(OptionReplies.infoString(ctx.alloc(), option, INFO_DESCRIPTION, export.description()));
        }
        ctx.write(OptionReplies.infoBlockSize(ctx.alloc(), option, MIN_BLOCK, PREFERRED_BLOCK, config.maxPayload()));
        if (option == OPT_GO) {
            // Count the connection before the client can see the ACK and act on it.
            if (!attach(ctx, entry)) {
                replyError(ctx, option, REP_ERR_UNKNOWN, "export removed");
                return;
            }
        }
        ctx.writeAndFlush(OptionReplies.ack(ctx.alloc(), option));
        if (option == OPT_GO) {
            enterTransmission(ctx, entry, caps);
        }
    }

    private void exportName(ChannelHandlerContext ctx, ByteBuf in, ByteBuf data) {
        String name = data.toString(StandardCharsets.UTF_8);
        ExportEntry entry = config.exports().resolve(name);
        if (!visible(entry)) {
            // EXPORT_NAME has no way to report failure.
            hardClose(ctx, in, "EXPORT_NAME for unknown or TLS-only export");
            return;
        }
        NbdCapabilities caps = caps(entry);
        ByteBuf reply = ctx.alloc().buffer(10 + EXPORT_NAME_PADDING);
        reply.writeLong(entry.export().backend().size())
                .writeShort(TransmissionSession.transmissionFlags(caps, structuredReplies));
        if (!noZeroes) {
            reply.writeZero(EXPORT_NAME_PADDING);
        }
        if (!attach(ctx, entry)) {
            reply.release();
            hardClose(ctx, in, "EXPORT_NAME for an export removed meanwhile");
            return;
        }
        ctx.writeAndFlush(reply);
        enterTransmission(ctx, entry, caps);
    }

    /**
     * Counts the connection on the export, unless the export was removed since it was looked up: removeExport closes
     * the connections it finds attached once it has unregistered the export, so one attached after that would be
     * served by a removed export (whose backend its owner may already have closed). Attaching first and looking
     * again after means either this sees the removal or the removal sees this connection.
     */
    private boolean attach(ChannelHandlerContext ctx, ExportEntry entry) {
        entry.attach(ctx.channel());
        return config.exports().get(entry.export().name()) == entry;
    }

    private void metaContext(ChannelHandlerContext ctx, int option, ByteBuf data) {
        boolean set = option == OPT_SET_META_CONTEXT;
        if (set) {
            metaExport = null;
            metaSelected = false;
        }
        if (!structuredReplies) {
            replyError(ctx, option, REP_ERR_INVALID, "negotiate structured replies first");
            return;
        }
        OptionParser.MetaRequest req = OptionParser.meta(data);
        if (req == null) {
            replyError(ctx, option, REP_ERR_INVALID, "malformed meta context payload");
            return;
        }
        ExportEntry entry = config.exports().resolve(req.name());
        if (entry == null) {
            replyError(ctx, option, REP_ERR_UNKNOWN, "no such export");
            return;
        }
        boolean match = false;
        for (String q : req.queries()) {
            // LIST treats "base:" as a wildcard; SET selects by exact name only (QEMU insists on the echo).
            match |= q.equals(BASE_ALLOCATION) || (!set && q.equals("base:"));
        }
        if (!set && req.queries().isEmpty()) {
            match = true;
        }
        if (match) {
            ctx.write(OptionReplies.metaContext(ctx.alloc(), option, set ? BASE_ALLOCATION_ID : 0, BASE_ALLOCATION));
        }
        if (set) {
            metaExport = req.name();
            metaSelected = match;
        }
        ctx.writeAndFlush(OptionReplies.ack(ctx.alloc(), option));
    }

    private void enterTransmission(ChannelHandlerContext ctx, ExportEntry entry, NbdCapabilities caps) {
        finished = true;
        cancelTimeout();
        boolean blockStatus = structuredReplies && metaSelected && metaExport != null
                && config.exports().resolve(metaExport) == entry;
        TransmissionSession session = new TransmissionSession(entry, caps, structuredReplies, blockStatus,
                config.maxPayload());
        log.debug("{}: transmission on export '{}' flags 0x{}", ctx.channel(), entry.export().name(),
                Integer.toHexString(session.transmissionFlags()));
        ctx.pipeline().addAfter(ctx.name(), "nbd-transmission",
                new TransmissionHandler(session, config.maxPendingBytes(), config.shuttingDown()));
        ctx.pipeline().addAfter(ctx.name(), "nbd-requests", new RequestDecoder(config.maxPayload(),
                writePlacement(ctx, session)));
        ctx.pipeline().remove(this);
    }

    /** Where WRITE payloads may land directly; none under TLS, where the socket carries ciphertext. */
    private WritePlacement writePlacement(ChannelHandlerContext ctx, TransmissionSession session) {
        if (ctx.pipeline().get(SslHandler.class) != null || !session.caps().writable()) {
            return null;
        }
        NbdBackend backend = session.entry().export().backend();
        return (flags, cookie, offset, length) -> {
            if (config.shuttingDown().get() || RequestValidator.check(
                    NbdRequest.withoutPayload(flags, CMD_WRITE, cookie, offset, length), session) != null) {
                return null; // the handler refuses it: its payload goes to a pooled buffer and is dropped
            }
            try {
                return backend.writeTarget(offset, length);
            } catch (RuntimeException e) {
                log.debug("{}: write target at offset {} failed, receiving normally: {}", ctx.channel(), offset,
                        e.toString());
                return null;
            }
        };
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("{}: closing after {}", ctx.channel(), cause.toString());
        ctx.close();
    }
}
