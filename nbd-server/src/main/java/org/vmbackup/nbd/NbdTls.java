package org.vmbackup.nbd;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * X.509 credentials for STARTTLS. With a trusted CA, clients must present a certificate signed by it (like QEMU's
 * {@code verify-peer=on}); without one, any client may connect over TLS.
 */
public final class NbdTls {
    private final SslContext context;

    private NbdTls(SslContext context) {
        this.context = context;
    }

    /**
     * Credentials from PEM files.
     *
     * @param certificateChain the server certificate (and intermediates), PEM
     * @param privateKey the server's private key, PEM (PKCS#8)
     * @param trustedCa the CA that signs client certificates, or null to accept clients without certificates
     * @throws NbdException if a file cannot be read or parsed
     */
    public static NbdTls fromPem(Path certificateChain, Path privateKey, Path trustedCa) {
        Objects.requireNonNull(certificateChain, "certificateChain");
        Objects.requireNonNull(privateKey, "privateKey");
        try {
            SslContextBuilder b = SslContextBuilder.forServer(certificateChain.toFile(), privateKey.toFile())
                    .sslProvider(SslProvider.JDK).protocols("TLSv1.3", "TLSv1.2");
            if (trustedCa != null) {
                b.trustManager(trustedCa.toFile()).clientAuth(ClientAuth.REQUIRE);
            }
            return new NbdTls(b.build());
        } catch (SSLException | IllegalArgumentException e) {
            throw new NbdException("cannot load TLS credentials " + certificateChain + " / " + privateKey
                    + (trustedCa != null ? " / " + trustedCa : "") + ": " + e.getMessage(), e);
        }
    }

    /** Credentials from a ready Netty server context. */
    public static NbdTls of(SslContext serverContext) {
        if (!Objects.requireNonNull(serverContext, "serverContext").isServer()) {
            throw new IllegalArgumentException("TLS context must be a server context");
        }
        return new NbdTls(serverContext);
    }

    /** The Netty context. */
    public SslContext context() {
        return context;
    }
}
