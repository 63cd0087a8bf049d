package org.vmbackup.store.s3;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/**
 * How to reach the S3 server. Anything left empty comes from the standard AWS environment and profile files, as
 * in the AWS command line: {@code AWS_ENDPOINT_URL}, {@code AWS_REGION}, {@code AWS_ACCESS_KEY_ID} /
 * {@code AWS_SECRET_ACCESS_KEY}, {@code AWS_PROFILE}; a server that needs no region (most S3-compatible ones) gets
 * {@code us-east-1} when none is configured. Addressing is always path-style ({@code ENDPOINT/BUCKET/KEY}), which
 * every S3-compatible server understands.
 *
 * @param endpoint the server's URL, or empty for the environment's (or AWS's)
 * @param region the region, or empty for the environment's
 * @param accessKeyId the access key, or empty for the environment's credentials (then {@code secretAccessKey}
 *     is empty too)
 * @param secretAccessKey the secret key, or empty
 * @param maxConnections the most HTTP connections at once (parallel uploads and read-ahead share them)
 * @param maxAttempts the most attempts of one request (server errors, throttling, timeouts, reset connections
 *     are retried with exponential backoff and full jitter)
 * @param attemptTimeout how long one attempt may take before it is abandoned and retried
 * @param bandwidthLimit the most bytes per second of object data moved, uploads and downloads together (0: no
 *     limit), for {@code --bwlimit}
 */
public record S3Options(Optional<URI> endpoint, Optional<String> region, Optional<String> accessKeyId,
        Optional<String> secretAccessKey, int maxConnections, int maxAttempts, Duration attemptTimeout, long bandwidthLimit) {
    /** Connections: enough for the writer's and reader's threads plus read-ahead. */
    public static final int DEFAULT_MAX_CONNECTIONS = 64;
    /** Attempts: ten, so that with backoff up to 20 s a server may be away for about a minute. */
    public static final int DEFAULT_MAX_ATTEMPTS = 10;
    /** One attempt: a 1 MiB chunk takes well under this on any link a backup is worth running over. */
    public static final Duration DEFAULT_ATTEMPT_TIMEOUT = Duration.ofSeconds(60);

    /** Checks the values. */
    public S3Options {
        if (accessKeyId.isPresent() != secretAccessKey.isPresent()) {
            throw new IllegalArgumentException("an S3 access key needs its secret key, and the other way round");
        }
        if (maxConnections < 1 || maxAttempts < 1 || attemptTimeout.isNegative() || attemptTimeout.isZero()) {
            throw new IllegalArgumentException("S3 connections, attempts and the attempt timeout must be positive");
        }
        if (bandwidthLimit < 0) {
            throw new IllegalArgumentException("the S3 bandwidth limit must not be negative");
        }
    }

    /**
     * Everything from the environment and the profile files, with the defaults above.
     *
     * @return the options
     */
    public static S3Options fromEnvironment() {
        return new S3Options(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_ATTEMPTS, DEFAULT_ATTEMPT_TIMEOUT, 0);
    }

    /**
     * These options with another endpoint.
     *
     * @param url the server's URL
     * @return the new options
     */
    public S3Options withEndpoint(URI url) {
        return new S3Options(Optional.of(url), region, accessKeyId, secretAccessKey, maxConnections, maxAttempts,
                attemptTimeout, bandwidthLimit);
    }

    /**
     * These options with explicit static credentials.
     *
     * @param accessKey the access key id
     * @param secretKey the secret access key
     * @return the new options
     */
    public S3Options withCredentials(String accessKey, String secretKey) {
        return new S3Options(endpoint, region, Optional.of(accessKey), Optional.of(secretKey), maxConnections,
                maxAttempts, attemptTimeout, bandwidthLimit);
    }

    /**
     * These options with other retry limits.
     *
     * @param attempts the most attempts of one request
     * @param timeout how long one attempt may take
     * @return the new options
     */
    public S3Options withRetries(int attempts, Duration timeout) {
        return new S3Options(endpoint, region, accessKeyId, secretAccessKey, maxConnections, attempts, timeout,
                bandwidthLimit);
    }

    /**
     * These options with a bandwidth limit.
     *
     * @param bytesPerSecond the most bytes per second of object data, uploads and downloads together; 0 for none
     * @return the new options
     */
    public S3Options withBandwidthLimit(long bytesPerSecond) {
        return new S3Options(endpoint, region, accessKeyId, secretAccessKey, maxConnections, maxAttempts,
                attemptTimeout, bytesPerSecond);
    }
}
