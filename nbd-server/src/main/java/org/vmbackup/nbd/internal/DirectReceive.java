package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.AttributeKey;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Lets the request decoder choose where the channel's next socket read lands: while a WRITE payload is being
 * received into backend memory ({@link org.vmbackup.nbd.NbdWriteTarget}), the channel reads straight into a
 * view of that memory instead of a pooled receive buffer. Installed per channel before its first read, as the
 * channel's {@link RecvByteBufAllocator}: Netty creates the read handle once, on the first read, so the decoder
 * (which exists only from the transmission phase on) steers it through this shared slot.
 *
 * <p>Only touched on the channel's event loop.
 */
public final class DirectReceive implements RecvByteBufAllocator {
    private static final AttributeKey<DirectReceive> KEY = AttributeKey.valueOf(DirectReceive.class, "slot");

    private final RecvByteBufAllocator delegate;
    private ByteBuf armed;
    private int readLimit;
    /** Receives whole request headers, reused while nobody else holds it (the decoder releases it once read). */
    private ByteBuf header;

    private DirectReceive(RecvByteBufAllocator delegate) {
        this.delegate = delegate;
    }

    /** Installs a slot on a new channel, reading through {@code delegate} whenever nothing is armed. */
    public static void install(Channel ch, RecvByteBufAllocator delegate) {
        DirectReceive slot = new DirectReceive(delegate);
        ch.config().setRecvByteBufAllocator(slot);
        ch.attr(KEY).set(slot);
    }

    /** The channel's slot, or null if none was installed (embedded channels in tests). */
    static DirectReceive of(Channel ch) {
        return ch.attr(KEY).get();
    }

    /** The next read goes into {@code target} (empty, with writable bytes), which the decoder gets back as its message. */
    void arm(ByteBuf target) {
        armed = target;
    }

    /**
     * Reads (when nothing is armed) take at most {@code bytes} until this is called again (0: no limit): while the
     * decoder waits for the header that follows a payload received into backend memory it reads only that header,
     * so that a following WRITE's payload is not pulled into a receive buffer with it (and copied out again). The
     * limit outlives reads that return nothing: a client that sends its next request a moment later must not have
     * it read into a full-size buffer.
     */
    void limitReads(int bytes) {
        readLimit = bytes;
    }

    /**
     * If {@code msg} is the armed target coming back from a read: disarms it, drops both its references (the
     * read's and the slot's) and returns how many bytes the read put into it; otherwise -1.
     */
    int takeFilled(Object msg) {
        if (msg == null || msg != armed) {
            return -1;
        }
        armed = null;
        ByteBuf filled = (ByteBuf) msg;
        int n = filled.writerIndex();
        filled.release(2);
        return n;
    }

    /** Disarms and releases a target no read has filled. */
    void disarm() {
        if (armed != null) {
            armed.release();
            armed = null;
        }
    }

    /** Releases what the slot holds; the channel reads no more. */
    void close() {
        disarm();
        readLimit = 0;
        if (header != null) {
            header.release();
            header = null;
        }
    }

    /** A buffer for the next {@code limit} bytes: the reusable header buffer when it is free and fits. */
    private ByteBuf limited(ByteBufAllocator alloc, int limit) {
        if (limit != NbdConstants.REQUEST_HEADER_SIZE) {
            return alloc.directBuffer(limit, limit); // the rest of a header that came in pieces: rare
        }
        if (header == null) {
            header = alloc.directBuffer(limit, limit);
        } else if (header.refCnt() != 1) {
            return alloc.directBuffer(limit, limit); // still part of the decoder's cumulation
        }
        return header.clear().retain();
    }

    @Override
    public Handle newHandle() {
        return new SteeredHandle((ExtendedHandle) delegate.newHandle());
    }

    private final class SteeredHandle extends DelegatingHandle implements ExtendedHandle {
        SteeredHandle(ExtendedHandle delegate) {
            super(delegate);
        }

        /** Whether the last buffer handed out was an armed payload target. */
        private boolean placing;

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            // The read loop releases the buffer itself when a read returns nothing (EOF, EAGAIN): it gets its own
            // reference, so the slot's stays valid for the next read.
            ByteBuf target = armed;
            placing = target != null;
            if (target != null) {
                return target.retain();
            }
            int limit = readLimit;
            if (limit > 0) {
                return limited(alloc, limit);
            }
            return delegate().allocate(alloc);
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            // A payload read that got less than it asked for found the socket drained, but the client is usually
            // still sending it: read again at once rather than through another epoll wait (the read that finds
            // nothing ends the loop).
            return ((ExtendedHandle) delegate()).continueReading(placing && lastBytesRead() > 0
                    ? UncheckedBooleanSupplier.TRUE_SUPPLIER : maybeMoreDataSupplier);
        }
    }
}
