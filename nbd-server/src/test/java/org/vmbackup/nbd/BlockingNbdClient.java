package org.vmbackup.nbd;

import java.io.Closeable;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/** A minimal blocking NBD client for tests: fixed newstyle, GO, simple replies. */
final class BlockingNbdClient implements Closeable {
    private final SocketChannel ch;
    private final long size;
    private long cookie;

    private BlockingNbdClient(SocketChannel ch, long size) {
        this.ch = ch;
        this.size = size;
    }

    static BlockingNbdClient connect(SocketAddress address, boolean unix, String export) throws IOException {
        SocketChannel ch = unix ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        ch.connect(address);
        try {
            ByteBuffer greeting = read(ch, 18);
            if (greeting.getLong() != 0x4e42444d41474943L) {
                throw new IOException("bad greeting");
            }
            byte[] name = export.getBytes(StandardCharsets.UTF_8);
            ByteBuffer go = ByteBuffer.allocate(4 + 16 + 4 + name.length + 2);
            go.putInt(3).putLong(0x49484156454F5054L).putInt(7).putInt(4 + name.length + 2).putInt(name.length)
                    .put(name).putShort((short) 0).flip();
            write(ch, go);
            long size = -1;
            while (true) {
                ByteBuffer h = read(ch, 20);
                h.getLong();
                h.getInt();
                int type = h.getInt();
                ByteBuffer d = read(ch, h.getInt());
                if (type == 3 && d.getShort(0) == 0) {
                    size = d.getLong(2);
                } else if (type == 1) {
                    break;
                } else if (type < 0) {
                    throw new IOException("GO refused: 0x" + Integer.toHexString(type));
                }
            }
            return new BlockingNbdClient(ch, size);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
    }

    long size() {
        return size;
    }

    private static ByteBuffer read(SocketChannel ch, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new IOException("EOF");
            }
        }
        return b.flip();
    }

    private static void write(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private void request(int type, long offset, int length, byte[] payload) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(28 + (payload == null ? 0 : payload.length));
        h.putInt(0x25609513).putShort((short) 0).putShort((short) type).putLong(++cookie).putLong(offset)
                .putInt(length);
        if (payload != null) {
            h.put(payload);
        }
        write(ch, h.flip());
    }

    private int replyError() throws IOException {
        ByteBuffer r = read(ch, 16);
        if (r.getInt() != 0x67446698) {
            throw new IOException("bad reply magic");
        }
        int err = r.getInt();
        if (r.getLong() != cookie) {
            throw new IOException("cookie mismatch");
        }
        return err;
    }

    /**
     * Sends a WRITE of {@code data} as several socket writes cut at {@code cuts} (offsets into the request
     * bytes, header included), pausing {@code pauseMillis} after each piece so the server sees partial payloads;
     * returns the reply's error (0 = success).
     */
    int writeInPieces(long offset, byte[] data, int[] cuts, long pauseMillis) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(28 + data.length);
        h.putInt(0x25609513).putShort((short) 0).putShort((short) 1).putLong(++cookie).putLong(offset)
                .putInt(data.length).put(data).flip();
        int from = 0;
        for (int cut : cuts) {
            if (cut <= from || cut >= h.limit()) {
                continue;
            }
            write(ch, h.duplicate().position(from).limit(cut));
            from = cut;
            pause(pauseMillis);
        }
        write(ch, h.position(from));
        return replyError();
    }

    /** Sends only the first {@code bytes} of a WRITE request of {@code length} bytes (then the test hangs up). */
    void sendPartialWrite(long offset, int length, int bytes) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(28 + length);
        h.putInt(0x25609513).putShort((short) 0).putShort((short) 1).putLong(++cookie).putLong(offset)
                .putInt(length).position(0).limit(bytes);
        write(ch, h);
    }

    /** Sends a READ without waiting for its reply. */
    void sendRead(long offset, int length) throws IOException {
        request(0, offset, length, null);
    }

    /** Reads one simple READ reply of {@code length} bytes, whatever its cookie; fails on an error reply. */
    byte[] receiveRead(int length) throws IOException {
        ByteBuffer r = read(ch, 16);
        if (r.getInt() != 0x67446698) {
            throw new IOException("bad reply magic");
        }
        int err = r.getInt();
        if (err != 0) {
            throw new IOException("read error " + err);
        }
        return read(ch, length).array();
    }

    /** A WRITE whose reply error is returned instead of thrown. */
    int writeError(long offset, byte[] data) throws IOException {
        request(1, offset, data.length, data);
        return replyError();
    }

    /** Closes the socket without DISC. */
    void hangUp() throws IOException {
        ch.close();
    }

    private static void pause(long millis) throws IOException {
        if (millis > 0) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
    }

    void write(long offset, byte[] data) throws IOException {
        request(1, offset, data.length, data);
        int err = replyError();
        if (err != 0) {
            throw new IOException("write error " + err);
        }
    }

    byte[] read(long offset, int length) throws IOException {
        request(0, offset, length, null);
        int err = replyError();
        if (err != 0) {
            throw new IOException("read error " + err);
        }
        return read(ch, length).array();
    }

    @Override
    public void close() throws IOException {
        try {
            request(2, 0, 0, null);
        } catch (IOException alreadyClosed) {
            // The server may have closed first; DISC is then moot.
        } finally {
            ch.close();
        }
    }
}
