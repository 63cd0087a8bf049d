package org.vmbackup.nbd.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vmbackup.nbd.internal.NbdConstants.*;
import static org.vmbackup.nbd.internal.Wire.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vmbackup.nbd.NbdExport;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.nbd.backend.ReadOnlyBackend;

class HandshakeHandlerTest {
    private static final long SIZE = 1 << 20;
    private final NbdExport disk = NbdExport.of("disk", new MemoryBackend(SIZE)).withDescription("scratch");
    private EmbeddedChannel ch;

    @AfterEach
    void finish() {
        if (ch != null) {
            drain(ch).release();
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void greetingOffersFixedNewstyleAndNoZeroes() {
        ch = handshakeChannel(disk);
        ByteBuf g = drain(ch);
        assertThat(g.readLong()).isEqualTo(NBDMAGIC);
        assertThat(g.readLong()).isEqualTo(IHAVEOPT);
        assertThat(g.readUnsignedShort()).isEqualTo(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        g.release();
    }

    @Test
    void unknownClientFlagsClose() {
        ch = handshakeChannel(disk);
        greet(ch, 0x80);
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void unknownOptionIsUnsupportedAndHaggleContinues() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        List<OptionReply> r = opt(ch, 0x7fff, "junk".getBytes(StandardCharsets.UTF_8));
        assertThat(r).hasSize(1);
        assertThat(r.get(0).option()).isEqualTo(0x7fff);
        assertThat(r.get(0).type()).isEqualTo(REP_ERR_UNSUP);
        r = opt(ch, OPT_LIST, new byte[0]);
        assertThat(r).extracting(OptionReply::type).containsExactly(REP_SERVER, REP_ACK);
        assertThat(new String(r.get(0).data(), 4, 4, StandardCharsets.UTF_8)).isEqualTo("disk");
        assertThat(ch.isActive()).isTrue();
    }

    @Test
    void extendedHeadersAreRefusedButNotFatal() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        assertThat(opt(ch, 11, new byte[0])).extracting(OptionReply::type).containsExactly(REP_ERR_UNSUP);
        assertThat(opt(ch, OPT_GO, goData("disk"))).last().extracting(OptionReply::type).isEqualTo(REP_ACK);
    }

    @Test
    void badOptionMagicCloses() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        ByteBuf b = Unpooled.buffer().writeLong(0x1234L).writeInt(OPT_LIST).writeInt(0);
        ch.writeInbound(b);
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void oversizeOptionCloses() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        ch.writeInbound(Unpooled.buffer().writeLong(IHAVEOPT).writeInt(OPT_GO).writeInt(MAX_OPTION_LENGTH + 1));
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void tooManyOptionsClose() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        for (int i = 0; i < MAX_OPTIONS; i++) {
            opt(ch, OPT_STRUCTURED_REPLY, new byte[0]);
        }
        assertThat(ch.isActive()).isTrue();
        opt(ch, OPT_STRUCTURED_REPLY, new byte[0]);
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void handshakeTimesOut() throws Exception {
        ch = handshakeChannel(Duration.ofMillis(50), disk);
        greet(ch, 3);
        ch.advanceTimeBy(100, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void optionsWithForbiddenDataAreInvalid() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        assertThat(opt(ch, OPT_LIST, new byte[] {1}).get(0).type()).isEqualTo(REP_ERR_INVALID);
        assertThat(opt(ch, OPT_STRUCTURED_REPLY, new byte[] {1}).get(0).type()).isEqualTo(REP_ERR_INVALID);
        assertThat(opt(ch, OPT_SET_META_CONTEXT, metaData("disk", BASE_ALLOCATION)).get(0).type())
                .as("SET_META_CONTEXT before STRUCTURED_REPLY").isEqualTo(REP_ERR_INVALID);
        assertThat(opt(ch, OPT_GO, new byte[] {0, 0, 0, 9}).get(0).type()).isEqualTo(REP_ERR_INVALID);
        assertThat(opt(ch, OPT_STARTTLS, new byte[0]).get(0).type()).isEqualTo(REP_ERR_POLICY);
        assertThat(ch.isActive()).isTrue();
    }

    @Test
    void infoReportsSizeFlagsBlockSizesNameAndDescription() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        List<OptionReply> r = opt(ch, OPT_INFO, goData("disk", INFO_BLOCK_SIZE, INFO_NAME, INFO_DESCRIPTION));
        assertThat(r).last().extracting(OptionReply::type).isEqualTo(REP_ACK);
        OptionReply export = r.stream().filter(x -> x.type() == REP_INFO && x.infoType() == INFO_EXPORT)
                .findFirst().orElseThrow();
        ByteBuf d = Unpooled.wrappedBuffer(export.data());
        d.skipBytes(2);
        assertThat(export.data()).hasSize(12);
        assertThat(d.readLong()).isEqualTo(SIZE);
        int flags = d.readUnsignedShort();
        assertThat(flags & TFLAG_HAS_FLAGS).isNotZero();
        assertThat(flags & TFLAG_READ_ONLY).isZero();
        assertThat(flags & (TFLAG_SEND_FLUSH | TFLAG_SEND_FUA | TFLAG_SEND_TRIM | TFLAG_SEND_WRITE_ZEROES
                | TFLAG_SEND_FAST_ZERO | TFLAG_CAN_MULTI_CONN)).isEqualTo(TFLAG_SEND_FLUSH | TFLAG_SEND_FUA
                | TFLAG_SEND_TRIM | TFLAG_SEND_WRITE_ZEROES | TFLAG_SEND_FAST_ZERO | TFLAG_CAN_MULTI_CONN);
        assertThat(flags & TFLAG_SEND_DF).as("DF only with structured replies").isZero();
        OptionReply bs = r.stream().filter(x -> x.type() == REP_INFO && x.infoType() == INFO_BLOCK_SIZE)
                .findFirst().orElseThrow();
        ByteBuf b = Unpooled.wrappedBuffer(bs.data()).skipBytes(2);
        assertThat(List.of(b.readInt(), b.readInt(), b.readInt())).containsExactly(1, 4096, MAX_PAYLOAD);
        assertThat(r).anyMatch(x -> x.type() == REP_INFO && x.infoType() == INFO_DESCRIPTION
                && new String(x.data(), 2, x.data().length - 2, StandardCharsets.UTF_8).equals("scratch"));
        assertThat(ch.pipeline().get(HandshakeHandler.class)).as("INFO stays in haggling").isNotNull();
    }

    @Test
    void unknownExportIsErrUnknown() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        assertThat(opt(ch, OPT_GO, goData("nope")).get(0).type()).isEqualTo(REP_ERR_UNKNOWN);
        assertThat(ch.isActive()).isTrue();
    }

    @Test
    void defaultExportNameMeansTheOnlyExport() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        assertThat(opt(ch, OPT_GO, goData(""))).last().extracting(OptionReply::type).isEqualTo(REP_ACK);
    }

    @Test
    void setMetaContextEchoesExactlyBaseAllocationAndIgnoresUnknown() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        opt(ch, OPT_STRUCTURED_REPLY, new byte[0]);
        List<OptionReply> r = opt(ch, OPT_SET_META_CONTEXT, metaData("disk", "x-nosuch:thing", BASE_ALLOCATION));
        assertThat(r).extracting(OptionReply::type).containsExactly(REP_META_CONTEXT, REP_ACK);
        ByteBuf d = Unpooled.wrappedBuffer(r.get(0).data());
        assertThat(d.readInt()).isEqualTo(BASE_ALLOCATION_ID);
        assertThat(d.toString(StandardCharsets.UTF_8)).isEqualTo(BASE_ALLOCATION);
        r = opt(ch, OPT_LIST_META_CONTEXT, metaData("disk", "base:"));
        assertThat(r).extracting(OptionReply::type).containsExactly(REP_META_CONTEXT, REP_ACK);
        r = opt(ch, OPT_SET_META_CONTEXT, metaData("disk", "qemu:dirty-bitmap:x"));
        assertThat(r).extracting(OptionReply::type).containsExactly(REP_ACK);
    }

    @Test
    void goSwitchesToTransmissionWithStructuredFlags() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        opt(ch, OPT_STRUCTURED_REPLY, new byte[0]);
        List<OptionReply> r = opt(ch, OPT_GO, goData("disk"));
        assertThat(r).last().extracting(OptionReply::type).isEqualTo(REP_ACK);
        assertThat(r.get(r.size() - 1).data()).isEmpty();
        assertThat(ch.pipeline().get(HandshakeHandler.class)).isNull();
        assertThat(ch.pipeline().get(TransmissionHandler.class)).isNotNull();
        int flags = Unpooled.wrappedBuffer(r.get(0).data()).getUnsignedShort(10);
        assertThat(flags & TFLAG_SEND_DF).isNotZero();
    }

    @Test
    void exportNameWithAndWithoutPadding() {
        for (int clientFlags : new int[] {0, 1, 3}) {
            EmbeddedChannel c = handshakeChannel(disk);
            greet(c, clientFlags);
            c.writeInbound(option(OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8)));
            ByteBuf out = drain(c);
            int expected = 10 + ((clientFlags & CLIENT_FLAG_NO_ZEROES) != 0 ? 0 : EXPORT_NAME_PADDING);
            assertThat(out.readableBytes()).as("client flags %d", clientFlags).isEqualTo(expected);
            assertThat(out.readLong()).isEqualTo(SIZE);
            out.release();
            assertThat(c.pipeline().get(TransmissionHandler.class)).isNotNull();
            c.finishAndReleaseAll();
        }
    }

    @Test
    void exportNameForUnknownExportCloses() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        ch.writeInbound(option(OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8)));
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void abortAcksAndCloses() {
        ch = handshakeChannel(disk);
        greet(ch, 3);
        List<OptionReply> r = opt(ch, OPT_ABORT, new byte[0]);
        assertThat(r).extracting(OptionReply::type).containsExactly(REP_ACK);
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void tlsOnlyExportIsHiddenAndRefusedWithoutTls() {
        NbdExport secret = NbdExport.of("secret", new MemoryBackend(SIZE)).requiringTls();
        ch = handshakeChannel(disk, secret);
        greet(ch, 3);
        List<OptionReply> r = opt(ch, OPT_LIST, new byte[0]);
        assertThat(r).extracting(OptionReply::type).containsExactly(REP_SERVER, REP_ACK);
        assertThat(opt(ch, OPT_GO, goData("secret")).get(0).type()).isEqualTo(REP_ERR_TLS_REQD);
        ch.writeInbound(option(OPT_EXPORT_NAME, "secret".getBytes(StandardCharsets.UTF_8)));
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void readOnlyExportAdvertisesReadOnly() {
        ch = handshakeChannel(NbdExport.of("ro", new ReadOnlyBackend(new MemoryBackend(SIZE))));
        greet(ch, 3);
        List<OptionReply> r = opt(ch, OPT_INFO, goData("ro"));
        int flags = Unpooled.wrappedBuffer(r.get(0).data()).getUnsignedShort(10);
        assertThat(flags & TFLAG_READ_ONLY).isNotZero();
        assertThat(flags & (TFLAG_SEND_WRITE_ZEROES | TFLAG_SEND_TRIM | TFLAG_SEND_FUA)).isZero();
    }

    @Test
    void bytesSplitAtEveryPositionStillNegotiate() {
        byte[] all = bytes(Unpooled.wrappedBuffer(clientFlags(3), option(OPT_STRUCTURED_REPLY, new byte[0]),
                option(OPT_GO, goData("disk", INFO_BLOCK_SIZE))));
        ch = handshakeChannel(disk);
        drain(ch).release();
        for (byte x : all) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {x}));
        }
        ByteBuf out = drain(ch);
        List<OptionReply> r = optionReplies(out);
        out.release();
        assertThat(r).extracting(OptionReply::type).containsSubsequence(REP_ACK, REP_INFO, REP_ACK);
        assertThat(ch.pipeline().get(TransmissionHandler.class)).isNotNull();
    }

    @Test
    void shuttingDownAnswersErrShutdownThenEshutdown() {
        java.util.concurrent.atomic.AtomicBoolean shutdown = new java.util.concurrent.atomic.AtomicBoolean();
        ch = handshakeChannel(Duration.ofSeconds(10), shutdown, disk);
        greet(ch, 3);
        shutdown.set(true);
        assertThat(opt(ch, OPT_LIST, new byte[0])).extracting(OptionReply::type).containsExactly(REP_ERR_SHUTDOWN);
        shutdown.set(false);
        assertThat(opt(ch, OPT_GO, goData("disk"))).last().extracting(OptionReply::type).isEqualTo(REP_ACK);
        shutdown.set(true);
        ch.writeInbound(request(0, CMD_READ, 5, 0, 512, null));
        ByteBuf out = drain(ch);
        assertThat(reply(out, 0).error()).isEqualTo(108);
        out.release();
    }
}
