package org.vmbackup.store.s3;

import java.net.URI;
import java.time.Duration;
import org.vmbackup.testkit.S3ProxyServer;

/** Options that reach a test server, with short retries so that failing tests fail fast. */
final class TestServers {
    private TestServers() {
    }

    static S3Options options(S3ProxyServer server) {
        return options(server.endpoint());
    }

    static S3Options options(URI endpoint) {
        return S3Options.fromEnvironment().withEndpoint(endpoint)
                .withCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)
                .withRetries(6, Duration.ofSeconds(20));
    }
}
