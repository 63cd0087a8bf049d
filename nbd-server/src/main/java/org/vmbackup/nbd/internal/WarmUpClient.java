package org.vmbackup.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A blocking NBD client that sends a fixed mix of requests through a server, as the clients this server is
 * built for do (nbdcopy and qemu-img uploads, QEMU backup jobs, restore reads): a pipelined stream of large and
 * medium WRITEs, READs answered with structured replies, WRITE_ZEROES, BLOCK_STATUS, TRIM and FLUSH.
 *
 * <p>It exists so the JIT compiles the server's request path before a real client arrives (see
 * {@code NbdServer.Builder#warmUp}). It is not a general client: it negotiates one way, checks every reply and
 * stops with an {@link IOException} naming the first thing that was not as expected.
 *
 * <p>Every connect, read and write is bounded by an I/O timeout, and gives up within {@link #POLL_MILLIS} once
 * its caller says the warm-up is abandoned: the server it talks to runs on an event loop its caller may close
 * under it (or that may be stuck), and a blocking read on such a server never returns (issue 13: a CLI test hung
 * for minutes in the handshake). The channel is non-blocking and waits in a selector, because a unix-domain
 * {@link SocketChannel} has no read timeout of its own.
 */
public final class WarmUpClient implements AutoCloseable {
    /** Requests kept in flight, like nbdcopy's and QEMU's pipelining (a window, not a batch). */
    private static final int DEPTH = 16;
    private static final int LARGE = 256 << 10;
    private static final int MEDIUM = 64 << 10;
    /** Requests one round of {@link #drive} sends. */
    public static final int REQUESTS_PER_ROUND = 384 + 256 + 64 + 2 * 32 + 2 * 8 + 64;

    /** Longest single wait in a selector, so that an abandoned warm-up is noticed promptly. */
    private static final long POLL_MILLIS = 50;

    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final long timeoutNanos;
    private final BooleanSupplier abandoned;
    private final ByteBuffer header = ByteBuffer.allocateDirect(NbdConstants.REQUEST_HEADER_SIZE);
    private final ByteBuffer payload = ByteBuffer.allocateDirect(LARGE);
    private final ByteBuffer replyHeader = ByteBuffer.allocateDirect(NbdConstants.STRUCTURED_REPLY_HEADER_SIZE);
    private final ByteBuffer discard = ByteBuffer.allocateDirect(LARGE + 64);
    private final ByteBuffer[] gather = new ByteBuffer[2];
    private long exportSize;
    private long cookie;
    private int inFlight;
    private int completed;

    private WarmUpClient(SocketChannel channel, Selector selector, Duration timeout, BooleanSupplier abandoned)
            throws IOException {
        this.channel = channel;
        this.selector = selector;
        this.key = channel.register(selector, 0);
        this.timeoutNanos = timeout.toNanos();
        this.abandoned = abandoned;
        for (int i = 0; i < LARGE; i++) {
            payload.put(i, (byte) (i * 31 + 7)); // not zero: a backend must store it
        }
    }

    /**
     * Connects to a server's unix socket and opens {@code export} (structured replies, base:allocation).
     *
     * @param timeout longest wait for the connection, for any one reply, or for the server to take more data
     * @param abandoned polled while waiting: true stops the wait with an {@link IOException}
     */
    public static WarmUpClient open(Path socket, String export, Duration timeout, BooleanSupplier abandoned)
            throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        Selector selector = null;
        try {
            channel.configureBlocking(false);
            selector = Selector.open();
            WarmUpClient client = new WarmUpClient(channel, selector, timeout, abandoned);
            client.connect(UnixDomainSocketAddress.of(socket));
            client.handshake(export);
            return client;
        } catch (IOException | RuntimeException | Error e) {
            channel.close();
            if (selector != null) {
                selector.close();
            }
            throw e;
        }
    }

    private void connect(UnixDomainSocketAddress address) throws IOException {
        if (!channel.connect(address)) {
            long deadline = System.nanoTime() + timeoutNanos;
            while (!channel.finishConnect()) {
                await(SelectionKey.OP_CONNECT, deadline, "connecting");
            }
        }
    }

    /** Size of the opened export, as the server announced it. */
    public long exportSize() {
        return exportSize;
    }

    /**
     * Sends the request mix {@code rounds} times ({@link #REQUESTS_PER_ROUND} requests and 132 MiB of payload
     * per round, the last 64 one at a time) and waits for every reply.
     *
     * @return the number of requests answered, all successfully
     */
    public int drive(int rounds) throws IOException {
        if (exportSize < (4L << 20)) {
            throw new IOException("warm-up export is " + exportSize + " bytes, needs at least 4 MiB");
        }
        long span = exportSize / LARGE * LARGE;
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < 384; i++) {
                send(NbdConstants.CMD_WRITE, 0, ((long) i * LARGE) % span, LARGE);
            }
            for (int i = 0; i < 256; i++) {
                send(NbdConstants.CMD_WRITE, i % 64 == 0 ? NbdConstants.CMD_FLAG_FUA : 0,
                        ((long) i * MEDIUM) % span, MEDIUM);
            }
            for (int i = 0; i < 64; i++) {
                send(NbdConstants.CMD_READ, 0, ((long) i * LARGE) % span, LARGE);
            }
            for (int i = 0; i < 32; i++) {
                send(NbdConstants.CMD_WRITE_ZEROES, 0, ((long) i * MEDIUM) % span, MEDIUM);
                send(NbdConstants.CMD_BLOCK_STATUS, 0, 0, (int) Math.min(span, 1L << 30));
            }
            for (int i = 0; i < 8; i++) {
                send(NbdConstants.CMD_TRIM, 0, ((long) i * MEDIUM) % span, MEDIUM);
                send(NbdConstants.CMD_FLUSH, 0, 0, 0);
            }
            for (int i = 0; i < 64; i++) { // one at a time, as a client that waits for each reply (one-reply flushes)
                send(NbdConstants.CMD_WRITE, 0, ((long) i * MEDIUM) % span, MEDIUM);
                while (inFlight > 0) {
                    receiveReply();
                }
            }
        }
        while (inFlight > 0) {
            receiveReply();
        }
        return completed;
    }

    private void send(int type, int flags, long offset, int length) throws IOException {
        while (inFlight >= DEPTH) {
            receiveReply();
        }
        header.clear();
        header.putInt(NbdConstants.REQUEST_MAGIC).putShort((short) flags).putShort((short) type)
                .putLong(++cookie).putLong(offset).putInt(length).flip();
        if (type == NbdConstants.CMD_WRITE) {
            payload.clear().limit(length);
            gather[0] = header;
            gather[1] = payload;
            long deadline = System.nanoTime() + timeoutNanos;
            while (payload.hasRemaining()) {
                if (channel.write(gather) == 0) {
                    await(SelectionKey.OP_WRITE, deadline, "sending a request");
                }
            }
        } else {
            writeFully(header);
        }
        inFlight++;
    }

    private void receiveReply() throws IOException {
        replyHeader.clear().limit(4);
        readFully(replyHeader);
        int magic = replyHeader.getInt(0);
        if (magic == NbdConstants.SIMPLE_REPLY_MAGIC) {
            replyHeader.limit(NbdConstants.SIMPLE_REPLY_HEADER_SIZE);
            readFully(replyHeader);
            int error = replyHeader.getInt(4);
            if (error != 0) {
                throw new IOException("request " + replyHeader.getLong(8) + " failed with NBD error " + error);
            }
            finished();
            return;
        }
        if (magic != NbdConstants.STRUCTURED_REPLY_MAGIC) {
            throw new IOException(String.format("bad reply magic 0x%08x after %d replies", magic, completed));
        }
        replyHeader.limit(NbdConstants.STRUCTURED_REPLY_HEADER_SIZE);
        readFully(replyHeader);
        int flags = replyHeader.getShort(4) & 0xffff;
        int type = replyHeader.getShort(6) & 0xffff;
        int length = replyHeader.getInt(16);
        if (length < 0 || length > discard.capacity()) {
            throw new IOException("structured reply chunk of " + (length & 0xffffffffL) + " bytes");
        }
        discard.clear().limit(length);
        readFully(discard);
        if ((type & 0x8000) != 0) {
            throw new IOException("request " + replyHeader.getLong(8) + " failed with NBD error "
                    + (length >= 4 ? discard.getInt(0) : -1));
        }
        if ((flags & NbdConstants.REPLY_FLAG_DONE) != 0) {
            finished();
        }
    }

    private void finished() {
        inFlight--;
        completed++;
    }

    private void handshake(String export) throws IOException {
        ByteBuffer greeting = ByteBuffer.allocate(18);
        readFully(greeting);
        if (greeting.getLong(0) != NbdConstants.NBDMAGIC || greeting.getLong(8) != NbdConstants.IHAVEOPT) {
            throw new IOException("not a newstyle NBD server");
        }
        writeFully(ByteBuffer.allocate(4)
                .putInt(NbdConstants.CLIENT_FLAG_FIXED_NEWSTYLE | NbdConstants.CLIENT_FLAG_NO_ZEROES).flip());
        option(NbdConstants.OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        byte[] context = NbdConstants.BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
        option(NbdConstants.OPT_SET_META_CONTEXT, ByteBuffer.allocate(12 + name.length + context.length)
                .putInt(name.length).put(name).putInt(1).putInt(context.length).put(context).flip());
        option(NbdConstants.OPT_GO, ByteBuffer.allocate(6 + name.length).putInt(name.length).put(name)
                .putShort((short) 0).flip());
        if (exportSize == 0) {
            throw new IOException("server sent no export size");
        }
    }

    /** Sends an option and reads its replies up to the ACK, keeping the export size from an INFO_EXPORT. */
    private void option(int option, ByteBuffer data) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(16);
        head.putLong(NbdConstants.IHAVEOPT).putInt(option).putInt(data.remaining()).flip();
        writeFully(head);
        writeFully(data);
        while (true) {
            ByteBuffer reply = ByteBuffer.allocate(20);
            readFully(reply);
            int type = reply.getInt(12);
            int length = reply.getInt(16);
            if (reply.getLong(0) != NbdConstants.OPTION_REPLY_MAGIC || length < 0
                    || length > NbdConstants.MAX_OPTION_LENGTH) {
                throw new IOException("bad reply to option " + option);
            }
            ByteBuffer body = ByteBuffer.allocate(length);
            readFully(body);
            if (type == NbdConstants.REP_ACK) {
                return;
            }
            if (type < 0) {
                throw new IOException("option " + option + " refused with reply type 0x" + Integer.toHexString(type));
            }
            if (type == NbdConstants.REP_INFO && length >= 12 && body.getShort(0) == NbdConstants.INFO_EXPORT) {
                exportSize = body.getLong(2);
            }
        }
    }

    private void readFully(ByteBuffer b) throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (b.hasRemaining()) {
            int n = channel.read(b);
            if (n < 0) {
                throw new EOFException("server closed the connection after " + completed + " replies");
            }
            if (n == 0) {
                await(SelectionKey.OP_READ, deadline, "waiting for a reply");
            }
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (b.hasRemaining()) {
            if (channel.write(b) == 0) {
                await(SelectionKey.OP_WRITE, deadline, "sending");
            }
        }
    }

    /**
     * Waits until the channel is ready for {@code op}, in slices of at most {@link #POLL_MILLIS}.
     *
     * @throws SocketTimeoutException once {@code deadline} (a {@link System#nanoTime} value) has passed
     * @throws IOException if the caller abandoned the warm-up
     */
    private void await(int op, long deadline, String what) throws IOException {
        key.interestOps(op);
        while (true) {
            if (abandoned.getAsBoolean()) {
                throw new IOException("warm-up abandoned while " + what + " after " + completed + " replies");
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException("no progress from the server for "
                        + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms while " + what + " after " + completed
                        + " replies");
            }
            int ready = selector.select(Math.max(1, Math.min(POLL_MILLIS, TimeUnit.NANOSECONDS.toMillis(left))));
            selector.selectedKeys().clear();
            if (ready > 0) {
                return;
            }
        }
    }

    /**
     * Sends DISC if the socket takes it at once, and closes the socket. Never waits: DISC is a courtesy (the server
     * copes with a client that just goes), and a client is often closed because its server stopped reading.
     */
    @Override
    public void close() throws IOException {
        try {
            header.clear();
            header.putInt(NbdConstants.REQUEST_MAGIC).putShort((short) 0).putShort((short) NbdConstants.CMD_DISC)
                    .putLong(++cookie).putLong(0).putInt(0).flip();
            channel.write(header);
        } finally {
            try {
                channel.close();
            } finally {
                selector.close();
            }
        }
    }
}
