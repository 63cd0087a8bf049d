package org.vmbackup.core.internal;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpCommand;
import org.vmbackup.qmp.QmpConnectionClosedException;
import org.vmbackup.qmp.QmpErrorException;
import org.vmbackup.qmp.QmpTimeoutException;

/**
 * Blocking QMP calls for the session thread, each bounded by a timeout (a wedged monitor must never hang a
 * session), with failures turned into {@link BackupException}s that name the command and QEMU's reason.
 */
public final class QemuCalls {
    private static final Logger log = LoggerFactory.getLogger(QemuCalls.class);

    private final QmpClient client;
    private final Duration timeout;

    /** Calls through {@code client}, each waiting at most {@code timeout} by default. */
    public QemuCalls(QmpClient client, Duration timeout) {
        this.client = client;
        this.timeout = timeout;
    }

    /** The client. */
    public QmpClient client() {
        return client;
    }

    /** Runs {@code command} with the default timeout; returns its {@code return} value. */
    public Json call(String command, JsonObject args) {
        return call(command, args, timeout);
    }

    /** Runs {@code command}, waiting at most {@code limit}. */
    public Json call(String command, JsonObject args, Duration limit) {
        return await(command, client.execute(QmpCommand.raw(command, args), limit), limit);
    }

    /**
     * Sends {@code command} without waiting for its answer (QEMU runs a connection's commands in order), to save
     * a round trip where every millisecond counts; take the answer with {@link #await}.
     */
    public CompletableFuture<Json> send(String command, JsonObject args) {
        return client.execute(QmpCommand.raw(command, args), timeout);
    }

    /** The answer to {@code command} sent with {@link #send}, waiting at most the default timeout. */
    public Json await(String command, CompletableFuture<Json> answer) {
        return await(command, answer, timeout);
    }

    private Json await(String command, CompletableFuture<Json> answer, Duration limit) {
        try {
            // The client enforces the limit; the extra second is a watchdog in case it does not.
            return answer.get(limit.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw translate(command, e.getCause());
        } catch (TimeoutException e) {
            throw new BackupException("QEMU did not answer " + command + " within " + limit, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted while waiting for QEMU's answer to " + command, e);
        }
    }

    /** Runs {@code command} for cleanup: failures are logged, never thrown; returns the value or null. */
    public Json tryCall(String command, JsonObject args, Duration limit) {
        if (!client.isOpen()) {
            log.debug("skipping {}: the QMP connection is closed", command);
            return null;
        }
        try {
            return call(command, args, limit);
        } catch (BackupException e) {
            log.warn("cleanup step {} failed: {}", command, e.getMessage());
            return null;
        }
    }

    /** A {@link BackupException} for a failed QMP call. */
    public static BackupException translate(String command, Throwable cause) {
        if (cause instanceof QmpErrorException qe) {
            return new BackupException("QEMU refused " + command + ": " + qe.description(), qe);
        }
        if (cause instanceof QmpConnectionClosedException) {
            return new BackupException("QEMU connection lost during " + command + " (QEMU exited or closed the "
                    + "monitor): " + cause.getMessage(), cause);
        }
        if (cause instanceof QmpTimeoutException) {
            return new BackupException("QEMU did not answer " + command + ": " + cause.getMessage(), cause);
        }
        if (cause instanceof BackupException be) {
            return be;
        }
        return new BackupException(command + " failed: " + cause, cause);
    }
}
