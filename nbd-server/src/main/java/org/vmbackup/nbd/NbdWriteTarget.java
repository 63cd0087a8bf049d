package org.vmbackup.nbd;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Backend-owned memory that the server receives one WRITE's payload into straight from the socket, so the data
 * is copied once (by the kernel) instead of into a receive buffer first and then into the backend. Handed out by
 * {@link NbdBackend#writeTarget}; the server fills {@link #buffers()} in order and then ends the target with
 * exactly one of {@link #commit} or {@link #abandon}.
 *
 * <p>While the payload arrives, the buffers hold a mix of old and new bytes: a backend that serves reads from the
 * same memory shows them to overlapping reads in flight, which NBD leaves undefined anyway. A refused request or
 * a connection lost mid-payload leaves whatever arrived in place and calls {@link #abandon}: an unacknowledged
 * write may have happened in part, as after a crash.
 */
public interface NbdWriteTarget {
    /**
     * The memory to fill, in order: the bytes between each buffer's position and limit, adding up to the write's
     * length. The server only writes into them and never keeps them past {@link #commit} or {@link #abandon}.
     * Direct buffers are read into from the socket; heap buffers are filled by a copy from receive buffers.
     */
    List<ByteBuffer> buffers();

    /**
     * Every byte of the payload is in place: make it part of the disk. Completes as {@link NbdBackend#write}
     * would (same FUA meaning and failure reporting).
     */
    CompletableFuture<Void> commit(boolean fua);

    /** The payload will not be committed (request refused or connection lost). Never throws. */
    default void abandon() {
    }

    /**
     * A target whose buffers are the disk itself (memory, scratch): bytes in place are stored, so commit completes
     * at once and abandon has nothing to undo.
     */
    static NbdWriteTarget inPlace(List<ByteBuffer> buffers) {
        return new NbdWriteTarget() {
            @Override
            public List<ByteBuffer> buffers() {
                return buffers;
            }

            @Override
            public CompletableFuture<Void> commit(boolean fua) {
                return CompletableFuture.completedFuture(null);
            }
        };
    }
}
