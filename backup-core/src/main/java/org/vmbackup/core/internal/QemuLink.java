package org.vmbackup.core.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpSchema;

/** The first step of a backup: a QMP connection (the caller's, or our own with its undo) to a capable QEMU. */
final class QemuLink {
    private QemuLink() {
    }

    /**
     * Calls through {@code client}, or through a new connection to {@code socket} that the undo closes.
     *
     * @param timeout the limit of the connection and of each later call
     */
    static QemuCalls connect(QmpClient client, Path socket, Duration timeout, Cleanup cleanup) {
        if (client != null) {
            return new QemuCalls(client, timeout);
        }
        QmpClient c;
        try {
            c = QmpClient.connect(socket).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            // the client's message names the socket and the reason (missing, not a socket, refused)
            throw new BackupException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new BackupException("cannot connect to QMP socket " + socket + " within " + timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted while connecting to " + socket, e);
        }
        cleanup.push("close QMP connection", c::close);
        return new QemuCalls(c, timeout);
    }

    /** Fails, naming what is missing, unless this QEMU's schema has what the backup needs. */
    static void checkRequirements(QemuCalls q, boolean vmstate, Duration timeout) {
        QmpSchema schema;
        try {
            schema = q.client().schema().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw QemuCalls.translate("query-qmp-schema", e.getCause());
        } catch (TimeoutException e) {
            throw new BackupException("QEMU did not answer query-qmp-schema", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted while waiting for QEMU's schema", e);
        }
        List<String> missing = schema.check(BackupRequirements.of(vmstate));
        if (!missing.isEmpty()) {
            throw new BackupException("this QEMU cannot do a " + (vmstate ? "backup with VM state" : "backup")
                    + ": " + String.join("; ", missing));
        }
    }
}
