package org.vmbackup.nbd.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vmbackup.nbd.internal.NbdConstants.*;
import static org.vmbackup.nbd.internal.Wire.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vmbackup.nbd.NbdExport;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.nbd.backend.ReadOnlyBackend;

class TransmissionHandlerTest {
    private static final long SIZE = 4 << 20;
    private EmbeddedChannel ch;

    @AfterEach
    void finish() {
        if (ch != null) {
            drain(ch).release();
            ch.finishAndReleaseAll();
        }
    }

    private Reply send(ByteBuf request, int readLength) {
        ch.writeInbound(request);
        ByteBuf out = drain(ch);
        try {
            return reply(out, readLength);
        } finally {
            assertThat(out.readableBytes()).as("one reply only").isZero();
            out.release();
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void writeThenSimpleReadRoundTrips() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(SIZE)), false);
        byte[] data = random(100_000, 1);
        Reply w = send(request(0, CMD_WRITE, 7, 12345, data.length, data), 0);
        assertThat(w.error()).isZero();
        assertThat(w.cookie()).isEqualTo(7);
        Reply r = send(request(0, CMD_READ, 8, 12345, data.length, null), data.length);
        assertThat(r.structured()).isFalse();
        assertThat(r.simpleData()).isEqualTo(data);
    }

    @Test
    void structuredReadSendsHolesForUnwrittenRanges() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(SIZE)), true);
        byte[] data = random(65536, 2);
        send(request(0, CMD_WRITE, 1, 65536, data.length, data), 0);
        Reply r = send(request(0, CMD_READ, 2, 0, 3 * 65536, null), 0);
        assertThat(r.structured()).isTrue();
        assertThat(r.error()).isZero();
        assertThat(r.chunks()).extracting(Chunk::type).containsExactly(CHUNK_OFFSET_HOLE, CHUNK_OFFSET_DATA,
                CHUNK_OFFSET_HOLE);
        assertThat(r.chunks()).extracting(Chunk::flags).containsExactly(0, 0, REPLY_FLAG_DONE);
        byte[] p = r.chunks().get(1).payload();
        assertThat(Unpooled.wrappedBuffer(p).readLong()).isEqualTo(65536);
        assertThat(Arrays.copyOfRange(p, 8, p.length)).isEqualTo(data);
    }

    @Test
    void dfReadIsOneDataChunk() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(SIZE)), true);
        Reply r = send(request(CMD_FLAG_DF, CMD_READ, 2, 0, 4096, null), 0);
        assertThat(r.chunks()).extracting(Chunk::type).containsExactly(CHUNK_OFFSET_DATA);
        assertThat(r.chunks().get(0).payload()).hasSize(8 + 4096);
    }

    @Test
    void blockStatusReqOneReportsOneExtent() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(SIZE)), true);
        byte[] data = random(65536, 3);
        send(request(0, CMD_WRITE, 1, 0, data.length, data), 0);
        send(request(CMD_FLAG_NO_HOLE, CMD_WRITE_ZEROES, 1, 65536, 65536, null), 0);
        Reply r = send(request(CMD_FLAG_REQ_ONE, CMD_BLOCK_STATUS, 3, 0, SIZE, null), 0);
        assertThat(r.chunks()).hasSize(1);
        ByteBuf p = Unpooled.wrappedBuffer(r.chunks().get(0).payload());
        assertThat(p.readableBytes()).isEqualTo(12);
        assertThat(p.readInt()).isEqualTo(BASE_ALLOCATION_ID);
        assertThat(p.readInt()).isEqualTo(65536);
        assertThat(p.readInt()).isZero();
        r = send(request(0, CMD_BLOCK_STATUS, 4, 0, SIZE, null), 0);
        p = Unpooled.wrappedBuffer(r.chunks().get(0).payload()).skipBytes(4);
        List<long[]> extents = new ArrayList<>();
        while (p.isReadable()) {
            extents.add(new long[] {p.readUnsignedInt(), p.readInt()});
        }
        assertThat(extents).extracting(e -> e[1]).containsExactly(0L, (long) STATE_ZERO,
                (long) (STATE_HOLE | STATE_ZERO));
        assertThat(extents.stream().mapToLong(e -> e[0]).sum()).isEqualTo(SIZE);
    }

    @Test
    void malformedRequestsGetTheSpecifiedErrorsAndTheConnectionSurvives() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(SIZE)), true);
        assertThat(send(request(0, 99, 1, 0, 512, null), 0).error()).as("unknown command").isEqualTo(22);
        assertThat(send(request(0x8000, CMD_READ, 2, 0, 512, null), 0).error()).as("unknown flag").isEqualTo(22);
        assertThat(send(request(CMD_FLAG_FAST_ZERO, CMD_READ, 2, 0, 512, null), 0).error()).isEqualTo(22);
        assertThat(send(request(0, CMD_READ, 3, SIZE, 512, null), 0).error()).as("read past end").isEqualTo(22);
        assertThat(send(request(0, CMD_READ, 3, -1, 512, null), 0).error()).as("huge offset").isEqualTo(22);
        assertThat(send(request(0, CMD_WRITE, 4, SIZE - 256, 512, new byte[512]), 0).error())
                .as("write past end").isEqualTo(28);
        assertThat(send(request(0, CMD_WRITE_ZEROES, 4, SIZE, 512, null), 0).error()).isEqualTo(28);
        assertThat(send(request(0, CMD_TRIM, 5, SIZE, 512, null), 0).error()).isEqualTo(22);
        assertThat(send(request(0, CMD_FLUSH, 5, 1, 0, null), 0).error()).isEqualTo(22);
        assertThat(send(request(0, CMD_READ, 6, 0, MAX_PAYLOAD + 1L, null), 0).error()).isEqualTo(22);
        Reply zeroLength = send(request(0, CMD_READ, 7, 0, 0, null), 0);
        assertThat(zeroLength.error()).isZero();
        assertThat(zeroLength.chunks()).extracting(Chunk::type).containsExactly(CHUNK_NONE);
        assertThat(send(request(0, CMD_WRITE, 8, 0, 0, new byte[0]), 0).error()).isZero();
        assertThat(send(request(0, CMD_BLOCK_STATUS, 9, 0, 0, null), 0).error()).isEqualTo(22);
        assertThat(ch.isActive()).isTrue();
        assertThat(send(request(0, CMD_READ, 10, 0, 512, null), 0).error()).isZero();
    }

    @Test
    void blockStatusWithoutContextIsInvalid() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(SIZE)), false);
        assertThat(send(request(0, CMD_BLOCK_STATUS, 1, 0, 512, null), 0).error()).isEqualTo(22);
        assertThat(send(request(CMD_FLAG_DF, CMD_READ, 1, 0, 512, null), 0).error())
                .as("DF without structured replies").isEqualTo(22);
    }

    @Test
    void readOnlyExportRefusesWritesWithEperm() {
        ch = transmission(NbdExport.of("d", new ReadOnlyBackend(new MemoryBackend(SIZE))), false);
        assertThat(send(request(0, CMD_WRITE, 1, 0, 512, new byte[512]), 0).error()).isEqualTo(1);
        assertThat(send(request(0, CMD_WRITE_ZEROES, 1, 0, 512, null), 0).error()).isEqualTo(1);
        assertThat(send(request(0, CMD_TRIM, 1, 0, 512, null), 0).error()).isEqualTo(1);
        assertThat(send(request(0, CMD_READ, 1, 0, 512, null), 512).error()).isZero();
    }

    @Test
    void oversizeWriteIsDrainedAndRefused() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(64L << 20)), false);
        long big = MAX_PAYLOAD + 4096L;
        ch.writeInbound(request(0, CMD_WRITE, 1, 0, big, null));
        byte[] chunk = new byte[1 << 20];
        for (long sent = 0; sent < big; sent += chunk.length) {
            ch.writeInbound(Unpooled.wrappedBuffer(chunk, 0, (int) Math.min(chunk.length, big - sent)));
        }
        ByteBuf out = drain(ch);
        assertThat(reply(out, 0).error()).isEqualTo(22);
        out.release();
        assertThat(send(request(0, CMD_READ, 2, 0, 512, null), 512).cookie()).isEqualTo(2);
    }

    @Test
    void repliesFollowCompletionOrderNotRequestOrder() {
        ManualBackend backend = new ManualBackend(SIZE);
        ch = transmission(NbdExport.of("d", backend), false);
        for (int i = 0; i < 3; i++) {
            ch.writeInbound(request(0, CMD_WRITE, 100 + i, i * 4096L, 4096, random(4096, i)));
        }
        assertThat(drain(ch).release()).isTrue();
        backend.completeNewest();
        backend.completeNewest();
        backend.completeNewest();
        ByteBuf out = drain(ch);
        List<Long> cookies = new ArrayList<>();
        while (out.isReadable()) {
            cookies.add(reply(out, 0).cookie());
        }
        out.release();
        assertThat(cookies).containsExactly(102L, 101L, 100L);
    }

    @Test
    void acksOfOneTurnLeaveAsOneBufferAndReadsStillGetTheirOwnFrames() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(SIZE)), false);
        byte[] data = random(4096, 3);
        ch.writeInbound(request(0, CMD_WRITE, 1, 0, data.length, data),
                request(0, CMD_WRITE, 2, 4096, data.length, data),
                request(0, CMD_FLUSH, 3, 0, 0, null),
                request(0, CMD_READ, 4, 0, data.length, null),
                request(0, CMD_TRIM, 5, 8192, 4096, null));
        List<ByteBuf> sent = new ArrayList<>();
        for (Object m; (m = ch.readOutbound()) != null; ) {
            sent.add((ByteBuf) m);
        }
        // The READ's header and data, then the four acks together when the turn's replies are flushed.
        assertThat(sent).hasSize(3);
        assertThat(sent.get(2).readableBytes()).isEqualTo(4 * SIMPLE_REPLY_HEADER_SIZE);
        ByteBuf out = Unpooled.wrappedBuffer(sent.toArray(new ByteBuf[0]));
        Reply read = reply(out, data.length);
        assertThat(read.cookie()).isEqualTo(4);
        assertThat(read.simpleData()).isEqualTo(data);
        List<Long> acked = new ArrayList<>();
        while (out.isReadable()) {
            Reply r = reply(out, 0);
            assertThat(r.error()).isZero();
            acked.add(r.cookie());
        }
        out.release();
        assertThat(acked).containsExactly(1L, 2L, 3L, 5L);
    }

    @Test
    void acksPendingWhenTheConnectionDropsAreReleased() {
        ManualBackend backend = new ManualBackend(SIZE);
        ch = transmission(NbdExport.of("d", backend), false);
        ch.writeInbound(request(0, CMD_WRITE, 1, 0, 512, new byte[512]),
                request(0, CMD_WRITE, 2, 512, 512, new byte[512]));
        backend.completeAll(); // both acks wait in the batch for the flush task
        ch.pipeline().close(); // as the peer hanging up: the flush task runs only after the close
        ch.runPendingTasks();
        assertThat(ch.outboundMessages()).as("nothing written after the connection dropped").isEmpty();
    }

    @Test
    void slowBackendStopsReadingUntilItCatchesUp() {
        ManualBackend backend = new ManualBackend(64L << 20);
        ch = transmission(NbdExport.of("d", backend), false);
        byte[] mib = new byte[1 << 20];
        for (int i = 0; i < 8; i++) {
            ch.writeInbound(request(0, CMD_WRITE, i, (long) i << 20, mib.length, mib));
        }
        assertThat(ch.config().isAutoRead()).as("4 MiB limit exceeded").isFalse();
        assertThat(backend.pending).as("the writes past the limit wait undecoded").hasSizeLessThan(8);
        int replies = 0;
        for (int round = 0; round < 8 && replies < 8; round++) {
            backend.completeAll(); // the ones held back are decoded once the connection reads again
            ch.runPendingTasks();
            ByteBuf out = drain(ch);
            while (out.isReadable()) {
                assertThat(reply(out, 0).error()).isZero();
                replies++;
            }
            out.release();
        }
        assertThat(ch.config().isAutoRead()).isTrue();
        assertThat(replies).isEqualTo(8);
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void requestsAlreadyReceivedWaitWhileReadingIsPaused() {
        // Pausing only stopped socket reads: every request already in the receive buffer was still decoded and sent
        // to the backend, so one read of 2 MiB (~75,000 headers) could have the backend allocate 32 MiB per READ.
        List<java.util.concurrent.CompletableFuture<ByteBuf>> held = new ArrayList<>();
        org.vmbackup.nbd.NbdBackend backend = new org.vmbackup.nbd.NbdBackend() {
            @Override
            public long size() {
                return 64L << 20;
            }

            @Override
            public java.util.concurrent.CompletableFuture<ByteBuf> read(long offset, int length) {
                java.util.concurrent.CompletableFuture<ByteBuf> f = new java.util.concurrent.CompletableFuture<>();
                held.add(f);
                return f;
            }
        };
        ch = transmission(NbdExport.of("d", backend), false);
        int requests = 64;
        int length = 1 << 20;
        ByteBuf all = Unpooled.buffer();
        for (int i = 0; i < requests; i++) {
            ByteBuf r = request(0, CMD_READ, i, 0, length, null);
            all.writeBytes(r);
            r.release();
        }
        ch.writeInbound(all); // one socket read carrying every header
        assertThat(ch.config().isAutoRead()).as("4 MiB limit exceeded").isFalse();
        assertThat(held.size()).as("READs started while the connection is paused").isLessThanOrEqualTo(5);
        int replies = 0;
        for (int served = 0; served < held.size() && served < 1000; served++) {
            held.get(served).complete(Unpooled.wrappedBuffer(new byte[length]));
            ch.runPendingTasks();
            ByteBuf out = drain(ch);
            while (out.isReadable()) {
                assertThat(reply(out, length).error()).isZero();
                replies++;
            }
            out.release();
            ch.runPendingTasks();
        }
        assertThat(replies).as("every READ answered once the backend caught up").isEqualTo(requests);
        assertThat(held).hasSize(requests);
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void requestsHeldBackWhenTheConnectionClosesAreNotStarted() {
        // Closing decodes what is left in the decoder (channelInactive) before the handler learns of the close: the
        // writes held back by the pause reached the backend after the connection, and removeExport, had ended.
        ManualBackend backend = new ManualBackend(64L << 20);
        ch = transmission(NbdExport.of("d", backend), false);
        byte[] mib = new byte[1 << 20];
        ByteBuf all = Unpooled.buffer();
        for (int i = 0; i < 8; i++) {
            ByteBuf r = request(0, CMD_WRITE, i, (long) i << 20, mib.length, mib);
            all.writeBytes(r);
            r.release();
        }
        ch.writeInbound(all);
        assertThat(ch.config().isAutoRead()).as("4 MiB limit exceeded").isFalse();
        assertThat(backend.pending).hasSizeLessThan(8);
        int started = backend.pending.size();
        // As when the first ones complete and reading resumes (RESUME is then a task still to run) and the peer
        // hangs up at that moment.
        ch.config().setAutoRead(true);
        ch.close();
        ch.runPendingTasks();
        assertThat(ch.isActive()).isFalse();
        assertThat(backend.pending).as("no request started after the connection closed").hasSize(started);
        backend.completeAll();
        ch.runPendingTasks();
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void emulatedZeroesCountTheirBufferAgainstTheInFlightLimit() {
        // A backend without zero() of its own gets WRITE_ZEROES as writes of a 1 MiB zero buffer per request, which
        // stays allocated while the request is in flight; counted as 1 KiB each, thousands could be in flight.
        ManualBackend backend = new ManualBackend(64L << 20);
        ch = transmission(NbdExport.of("d", backend), false);
        ByteBuf all = Unpooled.buffer();
        for (int i = 0; i < 48; i++) {
            ByteBuf r = request(0, CMD_WRITE_ZEROES, i, (long) i << 20, 1 << 20, null);
            all.writeBytes(r);
            r.release();
        }
        ch.writeInbound(all);
        assertThat(ch.config().isAutoRead()).as("4 MiB limit exceeded").isFalse();
        assertThat(backend.pending).as("zero buffers of 1 MiB held at a 4 MiB limit").hasSizeLessThanOrEqualTo(5);
        int replies = 0;
        for (int round = 0; round < 48 && replies < 48; round++) {
            backend.completeAll();
            ch.runPendingTasks();
            ByteBuf out = drain(ch);
            while (out.isReadable()) {
                assertThat(reply(out, 0).error()).isZero();
                replies++;
            }
            out.release();
        }
        assertThat(replies).isEqualTo(48);
    }

    @Test
    void discWaitsForRequestsInFlightThenCloses() {
        ManualBackend backend = new ManualBackend(SIZE);
        ch = transmission(NbdExport.of("d", backend), false);
        ch.writeInbound(request(0, CMD_WRITE, 1, 0, 512, new byte[512]));
        ch.writeInbound(request(0, CMD_DISC, 2, 0, 0, null));
        assertThat(ch.isActive()).isTrue();
        backend.completeAll();
        ByteBuf out = drain(ch);
        assertThat(reply(out, 0).cookie()).isEqualTo(1);
        assertThat(out.isReadable()).as("DISC has no reply").isFalse();
        out.release();
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void badRequestMagicCloses() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(SIZE)), false);
        ch.writeInbound(Unpooled.buffer().writeInt(0x12345678).writeZero(24));
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void requestsSplitIntoSingleBytesDecode() {
        ch = transmission(NbdExport.of("d", new MemoryBackend(SIZE)), false);
        byte[] data = random(300, 9);
        byte[] frames = bytes(Unpooled.wrappedBuffer(request(0, CMD_WRITE, 1, 10, data.length, data),
                request(0, CMD_READ, 2, 10, data.length, null)));
        for (byte b : frames) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        ByteBuf out = drain(ch);
        assertThat(reply(out, 0).cookie()).isEqualTo(1);
        assertThat(reply(out, data.length).simpleData()).isEqualTo(data);
        out.release();
    }

    @Test
    void fastZeroOnBackendWithoutFastZeroIsEnotsupAndLeavesData() {
        ManualBackend backend = new ManualBackend(SIZE);
        ch = transmission(NbdExport.of("d", backend), false);
        byte[] data = random(4096, 5);
        ch.writeInbound(request(0, CMD_WRITE, 1, 0, data.length, data));
        backend.completeAll();
        drain(ch).release();
        assertThat(send(request(CMD_FLAG_FAST_ZERO, CMD_WRITE_ZEROES, 2, 0, 4096, null), 0).error())
                .isEqualTo(95);
        assertThat(send(request(0, CMD_READ, 3, 0, 4096, null), 4096).simpleData()).isEqualTo(data);
        ch.writeInbound(request(0, CMD_WRITE_ZEROES, 4, 0, 4096, null));
        backend.completeAll();
        ByteBuf out = drain(ch);
        assertThat(reply(out, 0).error()).as("emulated zero through write").isZero();
        out.release();
        assertThat(send(request(0, CMD_READ, 5, 0, 4096, null), 4096).simpleData()).isEqualTo(new byte[4096]);
    }
}
