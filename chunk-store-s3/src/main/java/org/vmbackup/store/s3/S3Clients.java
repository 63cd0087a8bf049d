package org.vmbackup.store.s3;

import java.time.Duration;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.AwsProfileRegionProvider;
import software.amazon.awssdk.regions.providers.AwsRegionProviderChain;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.regions.providers.SystemSettingsRegionProvider;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.retries.api.RetryStrategy;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/** Builds the S3 client of an {@link S3Backend} from its {@link S3Options}. */
final class S3Clients {
    private static final Duration BASE_DELAY = Duration.ofMillis(100);
    private static final Duration MAX_DELAY = Duration.ofSeconds(10);

    private S3Clients() {
    }

    static S3Client build(S3Options o) {
        S3ClientBuilder b = S3Client.builder()
                .forcePathStyle(true)
                .region(region(o))
                .credentialsProvider(credentials(o))
                // The blocking Apache 5 client: its pool holds one connection per thread in flight, and it brings
                // no Netty (the SDK's async client would put a second Netty next to the project's 4.2.18).
                .httpClientBuilder(Apache5HttpClient.builder()
                        .maxConnections(o.maxConnections())
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(o.attemptTimeout()))
                // Checksums only where S3 requires them: many S3-compatible servers reject the SDK's default
                // trailing-checksum uploads, and every chunk and index carries its own digest anyway.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(ClientOverrideConfiguration.builder()
                        .retryStrategy(retries(o))
                        .apiCallAttemptTimeout(o.attemptTimeout())
                        .build());
        o.endpoint().ifPresent(b::endpointOverride);
        return b.build();
    }

    /**
     * 5xx, 503 SlowDown, timeouts and reset connections are retried with exponential backoff and full jitter.
     * No circuit breaker: a backup would rather wait out a server's bad minute than fail half-way.
     */
    private static RetryStrategy retries(S3Options o) {
        return AwsRetryStrategy.standardRetryStrategy().toBuilder()
                .maxAttempts(o.maxAttempts())
                .backoffStrategy(BackoffStrategy.exponentialDelay(BASE_DELAY, MAX_DELAY))
                .throttlingBackoffStrategy(BackoffStrategy.exponentialDelay(BASE_DELAY.multipliedBy(5), MAX_DELAY))
                .circuitBreakerEnabled(false)
                .build();
    }

    private static Region region(S3Options o) {
        if (o.region().isPresent()) {
            return Region.of(o.region().get());
        }
        try {
            // With an endpoint of its own (an S3-compatible server) the region is not asked of EC2's instance
            // metadata service: off EC2 that attempt cost 0.6-0.7 s of every command's start (BENCHMARKS.md).
            return (o.endpoint().isPresent()
                    ? new AwsRegionProviderChain(new SystemSettingsRegionProvider(), new AwsProfileRegionProvider())
                    : new DefaultAwsRegionProviderChain()).getRegion();
        } catch (SdkClientException e) {
            return Region.US_EAST_1; // S3-compatible servers mostly ignore it; AWS redirects the signature
        }
    }

    private static AwsCredentialsProvider credentials(S3Options o) {
        if (o.accessKeyId().isPresent()) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(o.accessKeyId().get(),
                    o.secretAccessKey().orElseThrow()));
        }
        return DefaultCredentialsProvider.builder().build();
    }
}
