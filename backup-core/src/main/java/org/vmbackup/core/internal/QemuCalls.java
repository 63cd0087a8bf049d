package org.vmbackup.core.internal;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpCommand;
import org.vmbackup.qmp.QmpConnectionClosedException;
import org.vmbackup.qmp.QmpErrorException;
import org.vmbackup.qmp.QmpTimeoutException;
import org.vmbackup.qmp.command.VoidCommand;

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

    /** Runs {@code command} with the default timeout; returns its decoded result. */
    public <R> R call(QmpCommand<R> command) {
        return call(command, timeout);
    }

    /** Runs {@code command}, waiting at most {@code limit}. */
    public <R> R call(QmpCommand<R> command, Duration limit) {
        return await(command.name(), client.execute(command, limit), limit);
    }

    /**
     * Sends {@code command} without waiting for its answer (QEMU runs a connection's commands in order), to save
     * a round trip where every millisecond counts; take the answer with {@link #await}.
     */
    public <R> CompletableFuture<R> send(QmpCommand<R> command) {
        return client.execute(command, timeout);
    }

    /** The answer to {@code command} sent with {@link #send}, waiting at most the default timeout. */
    public <R> R await(String command, CompletableFuture<R> answer) {
        return await(command, answer, timeout);
    }

    private <R> R await(String command, CompletableFuture<R> answer, Duration limit) {
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

    /**
     * Asks {@code query} for an undo step: failures are logged, never thrown.
     *
     * @return the answer, or empty if the query failed or the connection is closed
     */
    public <R> Optional<R> tryQuery(QmpCommand<R> query, Duration limit) {
        if (!open(query)) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(call(query, limit));
        } catch (BackupException e) {
            log.warn("cleanup step {} failed: {}", query.name(), e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Runs {@code command} for an undo step: failures are logged, never thrown.
     *
     * @return whether QEMU carried it out
     */
    public boolean tryRun(VoidCommand command, Duration limit) {
        if (!open(command)) {
            return false;
        }
        try {
            call(command, limit);
            return true;
        } catch (BackupException e) {
            log.warn("cleanup step {} failed: {}", command.name(), e.getMessage());
            return false;
        }
    }

    private boolean open(QmpCommand<?> command) {
        if (!client.isOpen()) {
            log.debug("skipping {}: the QMP connection is closed", command.name());
            return false;
        }
        return true;
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
