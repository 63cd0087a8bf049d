package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where a chunk store keeps its objects: a flat name space of immutable objects ({@code /}-separated names of
 * safe characters), written whole. Small on purpose, so that an object store (S3) can implement it without
 * rename or locks. Implementations are thread-safe and may be shared by several processes.
 */
public interface StoreBackend extends AutoCloseable {
    /**
     * Stores {@code data} (position to limit, not consumed) under {@code name} unless an object of that name
     * exists; if one exists, touches it instead (its {@link ObjectStat#lastTouched} becomes now), which is how a
     * backup tells a concurrent gc that it reuses it. The object becomes visible whole or not at all.
     *
     * @param name the object name
     * @param data the content
     * @return true when this call stored it, false when it existed already (and was touched)
     * @throws IOException when the object cannot be stored or touched
     */
    boolean putIfAbsent(String name, ByteBuffer data) throws IOException;

    /**
     * {@link #putIfAbsent}, except that the object need not be durable when this returns: it is once
     * {@link #sync} has returned for its name. A snapshot's chunks are put this way and synced in batches before
     * its manifest is published (FORMAT.md, "Durability"), instead of one flush per chunk.
     *
     * @param name the object name
     * @param data the content
     * @return true when this call stored it, false when it existed already (and was touched)
     * @throws IOException when the object cannot be stored or touched
     */
    default boolean putIfAbsentUnsynced(String name, ByteBuffer data) throws IOException {
        return putIfAbsent(name, data);
    }

    /**
     * Makes the named objects and their names durable, whoever put them (a chunk reused from a concurrent
     * writer that has not synced yet is covered too). Names that no longer exist are skipped.
     *
     * @param names the objects
     * @throws IOException when one cannot be made durable
     */
    default void sync(List<String> names) throws IOException {
    }

    /**
     * Touches an existing object (as {@link #putIfAbsent} does when it exists).
     *
     * @param name the object name
     * @return false when no such object exists
     * @throws IOException when it cannot be touched
     */
    boolean touch(String name) throws IOException;

    /**
     * Creates or replaces the small object {@code name} atomically: readers see the old or the new content whole.
     *
     * @param name the object name
     * @param data the content (position to limit, not consumed)
     * @throws IOException when it cannot be written; the previous content (if any) is then unchanged
     */
    void publish(String name, ByteBuffer data) throws IOException;

    /**
     * {@link #publish(String, ByteBuffer)} of the first {@code length} bytes of {@code data}, read by position
     * (its position is neither used nor moved, and it may be read more than once, for a retry): for an object too
     * large to hold on the heap, a disk's index (32 MiB per TiB of disk). The default reads it into one buffer,
     * which bounds it to 2 GiB; the store's backends stream it instead.
     *
     * @param name the object name
     * @param data the content, unchanged until this returns
     * @param length how many bytes of it, from its start
     * @throws IOException when it cannot be read or written; the previous content (if any) is then unchanged
     */
    default void publish(String name, java.nio.channels.FileChannel data, long length) throws IOException {
        if (length > Integer.MAX_VALUE - 16) {
            throw new StoreException(name + ": " + length + " bytes is too large an object for store " + describe());
        }
        ByteBuffer b = ByteBuffer.allocate((int) length);
        while (b.hasRemaining()) {
            if (data.read(b, b.position()) < 0) {
                throw new java.io.EOFException(name + ": its source ends before " + length + " bytes");
            }
        }
        publish(name, b.flip());
    }

    /**
     * The whole object.
     *
     * @param name the object name
     * @return its content, or empty when no such object exists
     * @throws IOException when it cannot be read
     */
    Optional<ByteBuffer> get(String name) throws IOException;

    /**
     * Part of an object: up to {@code length} bytes from {@code offset} (fewer at its end).
     *
     * @param name the object name
     * @param offset the first byte
     * @param length the most bytes to return
     * @return the bytes, or empty when no such object exists
     * @throws IOException when it cannot be read
     */
    Optional<ByteBuffer> get(String name, long offset, int length) throws IOException;

    /**
     * Size and last touch of an object.
     *
     * @param name the object name
     * @return its stat, or empty when no such object exists
     * @throws IOException when it cannot be asked
     */
    Optional<ObjectStat> stat(String name) throws IOException;

    /**
     * The names of all objects whose name starts with {@code prefix}, in no particular order. An object being
     * stored meanwhile may or may not be listed.
     *
     * @param prefix the name prefix ("" for all)
     * @return the names
     * @throws IOException when the listing fails
     */
    List<String> list(String prefix) throws IOException;

    /**
     * Deletes an object; nothing happens when it does not exist.
     *
     * @param name the object name
     * @throws IOException when it cannot be deleted
     */
    void delete(String name) throws IOException;

    /**
     * {@link #delete} with a single request, never resent: a resent delete whose first request was carried out
     * (its answer lost) could remove an object created again under the name meanwhile (another gc's lock). When it
     * fails, it may still take effect until {@link #awaitDeletes} returns. The default is {@link #delete}: a backend
     * whose delete is one local step.
     *
     * @param name the object name
     * @throws IOException when the delete failed (it may or may not have taken effect)
     */
    default void deleteOnce(String name) throws IOException {
        delete(name);
    }

    /**
     * Deletes an object only if nothing touched it since {@code cutoff}, atomically with respect to concurrent
     * {@link #putIfAbsent} and {@link #touch} calls: a touch either lands before the check (the object stays) or
     * finds the object gone (and stores it anew). This is what makes gc safe while backups run. A backend that
     * cannot make the check and the delete one step declares how long a delete may land after its check in
     * {@link #deleteWindow}, and writers then check their reused chunks before they commit.
     *
     * @param name the object name
     * @param cutoff objects touched at or after this instant are kept
     * @return the size of the deleted object, or -1 when it was kept or absent
     * @throws IOException when the check or delete fails
     */
    long deleteIfUntouchedSince(String name, Instant cutoff) throws IOException;

    /**
     * Cleans up what killed processes left beside the objects, before a gc's sweep: temporary files of writes
     * that never completed and were last written before {@code cutoff} are deleted, and objects that a killed gc
     * left moved aside go back under their names (or are deleted where the name exists again), so that the sweep
     * judges them like any other object. Only a gc calls this, holding {@code locks/gc}. The default does nothing:
     * a backend whose writes leave no temporaries (S3's PUT is all or nothing).
     *
     * @param cutoff temporaries written at or after this instant may still be in use and are kept
     * @return how many temporaries were deleted
     * @throws IOException when the clean-up fails
     */
    default long cleanUpAfterKilledProcesses(Instant cutoff) throws IOException {
        return 0;
    }

    /**
     * How long after a touch a {@link #deleteIfUntouchedSince} that checked the object before that touch can still
     * delete it: zero where the check and the delete are one atomic step (a local directory), the bound of the
     * check-then-delete window where they are two requests (S3). A writer that reused chunks waits this long after
     * its last reuse and then checks that they still exist before it publishes a manifest naming them (FORMAT.md,
     * "gc on S3").
     *
     * @return the window, zero when there is none
     */
    default Duration deleteWindow() {
        return Duration.ZERO;
    }

    /**
     * After a request failed with {@code failure}: waits until it can no longer take effect, had the server carried
     * it out anyway (its answer lost, or its client gone before it arrived), so that the caller can then look at
     * what it left (a marker of its own to remove, a manifest that is stored after all). Returns false at once
     * where there is no such window ({@link #deleteWindow} zero: a local directory) or the failure says the server
     * refused the request (it was not carried out).
     *
     * @param failure how the request failed
     * @return true when it waited and the caller should look
     * @throws java.io.InterruptedIOException when interrupted while waiting
     */
    default boolean awaitLateLanding(Exception failure) throws java.io.InterruptedIOException {
        return false;
    }

    /**
     * Returns once no delete of {@link #deleteIfUntouchedSince} or {@link #deleteOnce} that failed can still take
     * effect (a server may carry out a request whose answer its client never got). A gc calls it before it releases
     * {@code locks/gc}, since writers wait for a gc's deletes only while it holds the lock (FORMAT.md, "gc on S3").
     * The default returns at once: a backend whose failed deletes do not land later (a local directory).
     *
     * @throws java.io.InterruptedIOException when interrupted while waiting
     */
    default void awaitDeletes() throws java.io.InterruptedIOException {
    }

    /**
     * How many requests this backend serves well at once. The store runs at least this many worker threads (and
     * keeps twice as many chunk buffers, which bounds its memory): a remote backend whose every request waits a
     * round trip needs many in flight, a local one is bound by the CPUs, which is the default (0: no more).
     *
     * @return the number of requests worth having in flight, or 0
     */
    default int parallelism() {
        return 0;
    }

    /**
     * Where the objects are, for messages (a directory path, a URL).
     *
     * @return the description
     */
    String describe();

    /** Releases the backend's resources. */
    @Override
    void close() throws IOException;
}
