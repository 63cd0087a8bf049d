package org.vmbackup.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpClientOptions;

/**
 * Connects the commands that take {@code --qmp}/{@code SOCKET} to QEMU. A socket that is missing or refuses fails at
 * once (a typo should not cost a minute); {@code --wait SECONDS} retries that long for a QEMU that is still
 * starting.
 */
final class QmpConnect {
    /** Completing a connect is bounded by the client's own timeouts; this only guards against a lost completion. */
    private static final Duration SLACK = Duration.ofSeconds(30);

    private QmpConnect() {
    }

    /**
     * The connected client. {@code wait} zero: one attempt; otherwise retries until {@code wait} is over.
     * {@code timeout}: how long the greeting may take once connected (and any command's default timeout).
     */
    static QmpClient connect(Path socket, Duration wait, Duration timeout) throws Exception {
        QmpClientOptions.Builder o = QmpClientOptions.builder().commandTimeout(timeout);
        if (wait.isZero()) {
            o.retry(false).connectTimeout(timeout);
        } else {
            o.retry(true).connectTimeout(wait);
        }
        try {
            return QmpClient.connect(socket, o.build()).get(wait.plus(timeout).plus(SLACK).toMillis(),
                    TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        } catch (TimeoutException e) {
            throw new CliFailure("cannot connect to QMP socket " + socket + ": no answer", e);
        }
    }
}
