package org.vmbackup.nbd;

import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The storage behind one export, in the spirit of an nbdkit plugin: only {@link #size()} and {@link #read} are
 * required; every other operation has a default, and each capability query has a default derived from which
 * operations the implementation overrides (resolved once per connection by {@link NbdCapabilities#of}).
 *
 * <p>All operations are asynchronous: a backend applies back-pressure simply by completing its futures later,
 * and the server stops reading from a connection while too many bytes are pending. Futures may complete on
 * any thread; implementations must not block the calling (event-loop) thread for long.
 *
 * <p>Failures: complete the future exceptionally with an {@link NbdBackendException} to choose the error the
 * client sees; any other throwable is reported as EIO. The server has already checked ranges, flags and
 * read-only state before a call reaches the backend, so backends see only in-range, permitted requests.
 *
 * <p>Buffer ownership:
 * <ul>
 *   <li>{@link #read}: the returned buffer (exactly {@code length} readable bytes) is handed to the server,
 *       which releases it after sending.</li>
 *   <li>{@link #write}: {@code data} stays owned by the server and is valid only until the returned future
 *       completes; the server releases it afterwards. A backend that keeps it longer must {@code retain()}
 *       (or copy) it, and release its own reference later. Do not release {@code data} yourself.</li>
 * </ul>
 */
public interface NbdBackend {
    /** The exact size of the export in bytes; constant for the backend's lifetime. */
    long size();

    /**
     * Reads {@code length} bytes (1 to 32 MiB) at {@code offset}.
     *
     * @return a buffer with exactly {@code length} readable bytes; ownership passes to the server
     */
    CompletableFuture<ByteBuf> read(long offset, int length);

    /**
     * Writes {@code data} (all its readable bytes) at {@code offset}.
     *
     * @param data owned by the server, valid until the returned future completes; retain it to keep it longer
     * @param fua whether the data must be durable before completing (only with {@link FuaLevel#NATIVE})
     */
    default CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
        return CompletableFuture.failedFuture(new NbdBackendException(NbdErrno.EROFS, "backend is read-only"));
    }

    /**
     * Optional zero-copy writes: memory of this backend that the payload of a WRITE of {@code length} bytes at
     * {@code offset} may be received into directly, or {@code null} (the default) to get it through
     * {@link #write} as usual. Called on the event loop before the payload arrives, for in-range, permitted
     * requests only, and never on TLS connections (the socket bytes are ciphertext there): it must not block.
     * Returning {@code null} is always correct, e.g. when no memory is at hand right now.
     */
    default NbdWriteTarget writeTarget(long offset, int length) {
        return null;
    }

    /**
     * Makes {@code length} bytes at {@code offset} read as zeroes. The default writes zero buffers through
     * {@link #write} and refuses {@code fastZero} (that would not be faster than writing).
     *
     * @param fua whether the zeroes must be durable before completing
     * @param mayTrim whether the range may become a hole (NBD_CMD_FLAG_NO_HOLE was not set)
     * @param fastZero whether to fail quickly with {@link NbdErrno#ENOTSUP}, leaving data untouched, unless
     *     zeroing is cheaper than writing
     */
    default CompletableFuture<Void> zero(long offset, long length, boolean fua, boolean mayTrim, boolean fastZero) {
        if (fastZero) {
            return CompletableFuture.failedFuture(new NbdBackendException(NbdErrno.ENOTSUP, "zeroing is not fast"));
        }
        return ZeroEmulation.writeZeroes(this, offset, length, fua);
    }

    /** Discards {@code length} bytes at {@code offset} (advisory: contents are undefined until rewritten). */
    default CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return CompletableFuture.completedFuture(null);
    }

    /** Makes every write completed so far durable. */
    default CompletableFuture<Void> flush() {
        return CompletableFuture.completedFuture(null);
    }

    /** A prefetch hint; success promises nothing. */
    default CompletableFuture<Void> cache(long offset, long length) {
        return CompletableFuture.completedFuture(null);
    }

    /**
     * The allocation map of at least the first byte of {@code [offset, offset+length)}: consecutive extents
     * starting exactly at {@code offset}; they may stop short of the end or run past it. The default says
     * "all data", which is always correct.
     */
    default CompletableFuture<List<NbdExtent>> extents(long offset, long length) {
        return CompletableFuture.completedFuture(List.of(NbdExtent.data(offset, length)));
    }

    /** Whether writes are possible; default: the implementation overrides {@link #write}. */
    default boolean canWrite() {
        return NbdCapabilities.overrides(this, "write");
    }

    /** Whether {@link #flush()} does something; default: the implementation overrides it. */
    default boolean canFlush() {
        return NbdCapabilities.overrides(this, "flush");
    }

    /** How FUA is honoured; default: {@link FuaLevel#EMULATE} if {@link #canFlush()}, else NONE. */
    default FuaLevel fuaLevel() {
        return canFlush() ? FuaLevel.EMULATE : FuaLevel.NONE;
    }

    /** Whether WRITE_ZEROES is offered; default: {@link #canWrite()} (the default zero emulates it). */
    default boolean canZero() {
        return canWrite();
    }

    /** Whether zeroing is cheaper than writing; default: the implementation overrides {@link #zero}. */
    default boolean canFastZero() {
        return NbdCapabilities.overrides(this, "zero");
    }

    /** Whether TRIM is offered; default: the implementation overrides {@link #trim}. */
    default boolean canTrim() {
        return NbdCapabilities.overrides(this, "trim");
    }

    /** Whether all connections see one coherent store (flush on one is visible on all); default false. */
    default boolean canMultiConn() {
        return false;
    }

    /** Whether CACHE is offered; default true (the default {@link #cache} is a harmless no-op). */
    default boolean canCache() {
        return true;
    }

    /** Whether {@link #extents} reports real holes; default: the implementation overrides it. */
    default boolean canExtents() {
        return NbdCapabilities.overrides(this, "extents");
    }
}
