package org.vmbackup.store.s3;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.store.ObjectStat;
import org.vmbackup.store.StoreBackend;
import org.vmbackup.store.StoreException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.SdkPlugin;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.MetadataDirective;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A {@link StoreBackend} on S3 or an S3-compatible server: one object per name under the location's prefix.
 * A PUT is atomic on S3 (an object is visible whole or not at all), which gives {@link #publish} and makes the
 * manifest's PUT the commit point. {@link #putIfAbsent} is a conditional PUT ({@code If-None-Match: *}) where the
 * server supports it, else a plain PUT after the existence check (idempotent for chunks, whose name is their
 * digest). A touch is a copy of the object onto itself, which moves its {@code Last-Modified}; see FORMAT.md
 * ("gc ... S3") for why that keeps gc safe while backups run. Thread-safe: the client's connection pool serves
 * {@link S3Options#maxConnections()} requests at once; retries with backoff and jitter happen inside each call.
 */
public final class S3Backend implements StoreBackend {
    private static final Logger LOG = LoggerFactory.getLogger(S3Backend.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._:-]*(/[A-Za-z0-9_][A-Za-z0-9._:-]*)*");
    private static final int NOT_FOUND = 404;
    private static final int PRECONDITION_FAILED = 412;
    private static final int RANGE_NOT_SATISFIABLE = 416;
    private static final int NOT_IMPLEMENTED = 501;
    /** gc's DELETE of a chunk is sent only this soon after its HEAD was: the window a touch can fall into. */
    static final Duration DELETE_DEADLINE = Duration.ofSeconds(5);
    /** gc's DELETE of a chunk is abandoned (retries included) after this long. */
    static final Duration DELETE_TIMEOUT = Duration.ofSeconds(10);
    /** {@link #DELETE_DEADLINE} of this backend (tests of the window's waits shorten both, not the logic). */
    private final Duration deleteDeadline;
    /** {@link #DELETE_TIMEOUT} of this backend. */
    private final Duration deleteTimeout;

    /**
     * Requests in flight: at 50 ms round trip, 16 uploads of 1 MiB chunks keep about 300 MB/s moving, while the
     * store's buffers (two per worker) stay near 32 MiB.
     */
    static final int PARALLELISM = 16;

    private final S3Client s3;
    private final S3Location where;
    private final int parallelism;
    private final RateLimit rate;
    /**
     * Turns the SDK's retries off for one request: a DELETE that may have taken effect must not be sent again
     * (see {@link #deleteIfUntouchedSince}).
     */
    private static final SdkPlugin SEND_ONCE = c -> c.overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()));
    /**
     * System.nanoTime() until which a DELETE sent once that failed (it may still be carried out by the server) can
     * land; {@link #awaitDeletes} waits for it. MIN_VALUE while none failed.
     */
    private final AtomicLong unsettledUntil = new AtomicLong(Long.MIN_VALUE);
    /** Cleared once the server answers that it does not implement conditional PUTs. */
    private volatile boolean conditionalPuts = true;

    private S3Backend(S3Client s3, S3Location where, int maxConnections, long bytesPerSecond, Duration deleteDeadline,
            Duration deleteTimeout) {
        this.s3 = s3;
        this.deleteDeadline = deleteDeadline;
        this.deleteTimeout = deleteTimeout;
        this.where = where;
        this.rate = new RateLimit(bytesPerSecond);
        // the reader's read-ahead and the writer's uploads share the pool: never more workers than connections
        this.parallelism = Math.min(PARALLELISM, maxConnections);
    }

    /**
     * Opens {@code s3://BUCKET/PREFIX} with endpoint, region and credentials from the environment.
     *
     * @param url the location
     * @return the backend
     * @throws IOException when the bucket does not exist or the credentials are refused (one line each)
     * @throws IllegalArgumentException when {@code url} is not an {@code s3://} location
     */
    public static S3Backend open(String url) throws IOException {
        return open(S3Location.parse(url), S3Options.fromEnvironment());
    }

    /**
     * Opens a location with explicit options; checks that the bucket exists and the credentials are accepted.
     *
     * @param where the bucket and prefix
     * @param options how to reach the server
     * @return the backend
     * @throws IOException when the bucket does not exist, the credentials are refused or the server is unreachable
     */
    public static S3Backend open(S3Location where, S3Options options) throws IOException {
        return open(where, options, DELETE_DEADLINE, DELETE_TIMEOUT);
    }

    /** {@link #open(S3Location, S3Options)} with another DELETE deadline and timeout (for tests). */
    static S3Backend open(S3Location where, S3Options options, Duration deleteDeadline, Duration deleteTimeout)
            throws IOException {
        S3Client s3 = S3Clients.build(options);
        try {
            s3.listObjectsV2(r -> r.bucket(where.bucket()).prefix(where.prefix()).maxKeys(1));
        } catch (SdkException e) {
            s3.close();
            throw S3Errors.translate(where, "listing the bucket", e);
        } catch (RuntimeException e) {
            s3.close();
            throw e;
        }
        return new S3Backend(s3, where, options.maxConnections(), options.bandwidthLimit(), deleteDeadline, deleteTimeout);
    }

    private String key(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("bad object name '" + name + "'");
        }
        return where.key(name);
    }

    @Override
    public boolean putIfAbsent(String name, ByteBuffer data) throws IOException {
        // The existence check first: a chunk that exists costs a copy request, never its upload.
        if (touch(name)) {
            return false;
        }
        String key = key(name);
        if (conditionalPuts) {
            rate.acquire(data.remaining());
            try {
                s3.putObject(PutObjectRequest.builder().bucket(where.bucket()).key(key).ifNoneMatch("*").build(), BufferBody.of(data));
                return true;
            } catch (SdkException e) {
                if (S3Errors.isStatus(e, PRECONDITION_FAILED)) {
                    // Stored meanwhile: by another writer, or by an attempt of this call whose answer was lost
                    // (a reset after the server stored it; the SDK then retried). Markers must tell the two
                    // apart (each holds its writer's host, pid and start): equal content means it is ours.
                    return get(name).map(b -> b.equals(data.duplicate())).orElse(false);
                }
                if (!S3Errors.isStatus(e, NOT_IMPLEMENTED)) {
                    throw S3Errors.translate(where, "storing " + name, e);
                }
                conditionalPuts = false;
                LOG.warn("store {}: the S3 server does not implement conditional PUTs (If-None-Match); "
                        + "create-if-absent falls back to check-then-PUT", where);
            }
        }
        put(name, data);
        return true;
    }

    private void put(String name, ByteBuffer data) throws IOException {
        rate.acquire(data.remaining());
        try {
            s3.putObject(r -> r.bucket(where.bucket()).key(key(name)), BufferBody.of(data));
        } catch (SdkException e) {
            throw S3Errors.translate(where, "storing " + name, e);
        }
    }

    @Override
    public boolean touch(String name) throws IOException {
        String key = key(name);
        try {
            // A copy onto itself with new metadata is the only way S3 offers to move an object's Last-Modified.
            s3.copyObject(r -> r.sourceBucket(where.bucket()).sourceKey(key).destinationBucket(where.bucket())
                    .destinationKey(key).metadataDirective(MetadataDirective.REPLACE)
                    .metadata(Map.of("touched", Long.toString(System.currentTimeMillis()))));
            return true;
        } catch (SdkException e) {
            if (S3Errors.isStatus(e, NOT_FOUND) && !S3Errors.code(e).equals("NoSuchBucket")) {
                return false;
            }
            throw S3Errors.translate(where, "touching " + name, e);
        }
    }

    @Override
    public void publish(String name, ByteBuffer data) throws IOException {
        put(name, data);
    }

    /** One PUT streamed from the file (its length known up front, as S3 needs), never a copy on the heap. */
    @Override
    public void publish(String name, FileChannel data, long length) throws IOException {
        rate.acquire(length);
        try {
            s3.putObject(r -> r.bucket(where.bucket()).key(key(name)), ChannelBody.of(data, length));
        } catch (SdkException e) {
            throw S3Errors.translate(where, "storing " + name, e);
        }
    }

    @Override
    public Optional<ByteBuffer> get(String name) throws IOException {
        try {
            ResponseBytes<GetObjectResponse> b = s3.getObjectAsBytes(r -> r.bucket(where.bucket()).key(key(name)));
            // paid after it arrived: the average rate holds, one chunk of burst at most per thread
            rate.acquire(b.asByteArrayUnsafe().length);
            return Optional.of(ByteBuffer.wrap(b.asByteArrayUnsafe()));
        } catch (SdkException e) {
            if (missing(e)) {
                return Optional.empty();
            }
            throw S3Errors.translate(where, "reading " + name, e);
        }
    }

    @Override
    public Optional<ByteBuffer> get(String name, long offset, int length) throws IOException {
        if (length <= 0) {
            return stat(name).map(s -> ByteBuffer.allocate(0));
        }
        String range = "bytes=" + offset + "-" + (offset + length - 1);
        try {
            ResponseBytes<GetObjectResponse> b = s3.getObjectAsBytes(r -> r.bucket(where.bucket()).key(key(name)).range(range));
            rate.acquire(b.asByteArrayUnsafe().length);
            return Optional.of(ByteBuffer.wrap(b.asByteArrayUnsafe()));
        } catch (SdkException e) {
            if (missing(e)) {
                return Optional.empty();
            }
            if (S3Errors.isStatus(e, RANGE_NOT_SATISFIABLE)) {
                return stat(name).map(s -> ByteBuffer.allocate(0)); // at or past its end
            }
            throw S3Errors.translate(where, "reading " + name + " (" + range + ")", e);
        }
    }

    /**
     * An answer 4xx (other than 404): the server refused the request, which was not carried out and will not be
     * (unlike a lost answer, a 5xx or a timeout, after which it may have been or may still be).
     */
    private static boolean refused(SdkException e) {
        return e instanceof software.amazon.awssdk.awscore.exception.AwsServiceException s && s.statusCode() >= 400
                && s.statusCode() < 500 && s.statusCode() != NOT_FOUND;
    }

    private static boolean missing(SdkException e) {
        return S3Errors.isStatus(e, NOT_FOUND) && !S3Errors.code(e).equals("NoSuchBucket");
    }

    @Override
    public Optional<ObjectStat> stat(String name) throws IOException {
        try {
            HeadObjectResponse h = s3.headObject(r -> r.bucket(where.bucket()).key(key(name)));
            return Optional.of(new ObjectStat(name, h.contentLength(), h.lastModified()));
        } catch (SdkException e) {
            // a HEAD's 404 has no body, so a missing bucket looks like a missing object: open() checked the bucket
            if (S3Errors.isStatus(e, NOT_FOUND)) {
                return Optional.empty();
            }
            throw S3Errors.translate(where, "asking about " + name, e);
        }
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        List<String> out = new ArrayList<>();
        try {
            for (S3Object o : s3.listObjectsV2Paginator(r -> r.bucket(where.bucket()).prefix(where.key(prefix))).contents()) {
                // "folder" markers (keys ending in /) that consoles and some servers' file backends show are
                // not objects of the store: no store name ends in /
                if (!o.key().endsWith("/")) {
                    out.add(o.key().substring(where.prefix().length()));
                }
            }
        } catch (SdkException e) {
            throw S3Errors.translate(where, "listing " + (prefix.isEmpty() ? "the store" : prefix), e);
        }
        return out;
    }

    @Override
    public void delete(String name) throws IOException {
        try {
            s3.deleteObject(r -> r.bucket(where.bucket()).key(key(name)));
        } catch (SdkException e) {
            if (!missing(e)) {
                throw S3Errors.translate(where, "deleting " + name, e);
            }
        }
    }

    /** One DELETE, without the SDK's retries; a failed one may still land until {@link #awaitDeletes} returns. */
    @Override
    public void deleteOnce(String name) throws IOException {
        long sent = System.nanoTime();
        try {
            s3.deleteObject(r -> r.bucket(where.bucket()).key(key(name))
                    .overrideConfiguration(c -> c.apiCallTimeout(deleteTimeout).addPlugin(SEND_ONCE)));
        } catch (SdkException e) {
            if (!missing(e)) {
                if (!refused(e)) {
                    unsettled(sent);
                }
                throw S3Errors.translate(where, "deleting " + name, e);
            }
        }
    }

    /** Records a failed DELETE sent at {@code sent} (System.nanoTime()): it may land until a delete window after. */
    private void unsettled(long sent) {
        long until = sent + deleteWindow().toNanos();
        unsettledUntil.accumulateAndGet(until, (a, b) -> a == Long.MIN_VALUE || b - a > 0 ? b : a);
    }

    /**
     * HEAD, then DELETE when {@code Last-Modified} is before {@code cutoff}. S3 has no rename and no
     * compare-and-delete on Last-Modified, so a touch landing between the two requests is not seen. What bounds
     * that window: the DELETE is sent only within {@link #DELETE_DEADLINE} of sending the HEAD (a gc that stalled
     * keeps the chunk for the next run) and is abandoned after {@link #DELETE_TIMEOUT}; a writer that reused chunks
     * waits {@link #deleteWindow} after its last reuse and then checks them (FORMAT.md, "gc on S3").
     *
     * <p>The DELETE is sent once, without the SDK's retries: a retry of a DELETE that was carried out (its answer
     * lost) can land after a backup found the chunk gone and stored it anew (that backup's check then fails it; not
     * sending the retry spares it). A DELETE that fails without a refusal (no answer, a 5xx) is asked about instead
     * (HEAD): gone counts as deleted, present is kept for the next gc; and since the server may still carry it out,
     * {@link #awaitDeletes} waits for it before the gc releases its lock. A refusal (4xx) was not carried out: an
     * error, as before.
     */
    @Override
    public long deleteIfUntouchedSince(String name, Instant cutoff) throws IOException {
        long asked = System.nanoTime();
        Optional<ObjectStat> s = stat(name);
        if (s.isEmpty() || !s.get().lastTouched().isBefore(cutoff)) {
            return -1;
        }
        long sent = System.nanoTime();
        if (sent - asked > deleteDeadline.toNanos()) {
            LOG.debug("{}: {} kept, its HEAD took longer than {}", where, name, deleteDeadline);
            return -1;
        }
        try {
            s3.deleteObject(r -> r.bucket(where.bucket()).key(key(name))
                    .overrideConfiguration(c -> c.apiCallTimeout(deleteTimeout).addPlugin(SEND_ONCE)));
        } catch (SdkException e) {
            if (refused(e)) {
                throw S3Errors.translate(where, "deleting " + name, e);
            }
            if (!missing(e)) {
                unsettled(sent);
                LOG.debug("{}: deleting {} failed ({}); asking whether it took effect", where, name, e.getMessage());
                return stat(name).isEmpty() ? s.get().size() : -1;
            }
        }
        return s.get().size();
    }

    /** Waits {@link #deleteWindow} unless the server refused the request (a 4xx other than 404: not carried out). */
    @Override
    public boolean awaitLateLanding(Exception failure) throws InterruptedIOException {
        if (failure.getCause() instanceof SdkException e && refused(e)) {
            return false;
        }
        Duration wait = deleteWindow();
        LOG.info("{}: waiting {} s in case the server still carries out a request that failed ({})", where,
                wait.toSeconds(), failure.getMessage());
        try {
            Thread.sleep(wait.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a failed request to settle");
        }
        return true;
    }

    /** Waits until no gc DELETE that failed can still be carried out by the server (none: returns at once). */
    @Override
    public void awaitDeletes() throws InterruptedIOException {
        long until = unsettledUntil.get();
        long wait = until == Long.MIN_VALUE ? 0 : until - System.nanoTime();
        if (wait > 0) {
            LOG.debug("{}: waiting {} ms for failed DELETEs that the server may still carry out", where, wait / 1_000_000);
            try {
                java.util.concurrent.TimeUnit.NANOSECONDS.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for failed DELETEs to settle");
            }
        }
    }

    /**
     * {@link #DELETE_DEADLINE} + {@link #DELETE_TIMEOUT}, twice over: a server may still finish a DELETE whose
     * client gave up on it.
     */
    @Override
    public Duration deleteWindow() {
        return deleteDeadline.plus(deleteTimeout).multipliedBy(2);
    }

    @Override
    public int parallelism() {
        return parallelism;
    }

    @Override
    public String describe() {
        return where.toString();
    }

    /** @return the bucket and prefix */
    public S3Location location() {
        return where;
    }

    @Override
    public void close() throws IOException {
        try {
            s3.close();
        } catch (SdkException e) {
            throw new StoreException("store " + where + ": closing the S3 client failed", e);
        }
    }
}
