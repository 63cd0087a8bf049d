package org.vmbackup.nbd.internal;

import io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every connection of one server shares.
 *
 * @param exports the export registry
 * @param tls the TLS context, or null when STARTTLS is not offered
 * @param tlsRequired whether every option but STARTTLS/ABORT needs TLS first (FORCEDTLS)
 * @param handshakeTimeout how long a client may take to reach transmission
 * @param maxPendingBytes per-connection bytes in flight before reading pauses
 * @param maxPayload largest READ/WRITE accepted and advertised
 * @param shuttingDown set when the server is closing: options get ERR_SHUTDOWN, new requests ESHUTDOWN
 */
public record ServerConfig(ExportRegistry exports, SslContext tls, boolean tlsRequired, Duration handshakeTimeout,
                           long maxPendingBytes, int maxPayload, AtomicBoolean shuttingDown) {
}
