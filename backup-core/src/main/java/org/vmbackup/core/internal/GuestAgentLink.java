package org.vmbackup.core.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.agent.GuestAgentClient;
import org.vmbackup.qmp.agent.GuestAgentInfo;
import org.vmbackup.qmp.agent.GuestAgentSocket;
import org.vmbackup.qmp.agent.GuestFsFreezeStatus;

/**
 * Reaches a VM's guest agent for a freeze before anything is done to the guest: finds its socket (given, or the
 * VM's {@value GuestAgentSocket#PORT_NAME} chardev through QMP), connects, pings, and checks that it can freeze
 * and that nobody else holds a freeze. Either a ready client or one line saying why not.
 */
public final class GuestAgentLink {
    /** A connected agent ready to freeze, or why there is none ({@code client} null). */
    public record Outcome(GuestAgentClient client, String unavailable) {
    }

    private GuestAgentLink() {
    }

    /**
     * @param socket the agent's socket, or null to find it through {@code qmp}
     * @param timeout the limit of each step (finding, connecting, each agent call)
     */
    public static Outcome open(QmpClient qmp, Path socket, Duration timeout) {
        Path s = socket;
        if (s == null) {
            Optional<Path> found;
            try {
                found = get(GuestAgentSocket.find(qmp), timeout);
            } catch (ExecutionException | TimeoutException e) {
                return none("cannot look up the guest agent channel through QMP: " + message(e));
            }
            if (found.isEmpty()) {
                return none("the VM has no guest agent channel (a virtserialport named "
                        + GuestAgentSocket.PORT_NAME + " on a listening unix socket chardev)");
            }
            s = found.get();
        }
        GuestAgentClient client;
        try {
            client = get(GuestAgentClient.builder(s).timeout(timeout).connectTimeout(timeout).connect(), timeout);
        } catch (ExecutionException | TimeoutException e) {
            return none(e instanceof TimeoutException || e.getCause() instanceof org.vmbackup.qmp.QmpTimeoutException
                    ? "the guest agent on " + s + " does not answer within " + timeout.toMillis()
                            + " ms (is qemu-ga running in the guest?)"
                    : "cannot reach the guest agent: " + message(e));
        }
        try {
            get(client.ping(), timeout);
            GuestAgentInfo info = get(client.info(), timeout);
            if (!info.supports("guest-fsfreeze-freeze") || !info.supports("guest-fsfreeze-thaw")) {
                client.close();
                return none("the guest agent on " + s + " (qemu-ga " + info.version()
                        + ") does not allow guest-fsfreeze-freeze/-thaw");
            }
            if (get(client.freezeStatus(), timeout) == GuestFsFreezeStatus.FROZEN) {
                // Someone else's freeze: not ours to end, and a second freeze would be refused.
                client.close();
                return none("the guest's file systems are already frozen by someone else");
            }
        } catch (ExecutionException | TimeoutException e) {
            client.close();
            return none("the guest agent on " + s + " does not answer: " + message(e));
        }
        return new Outcome(client, "");
    }

    private static Outcome none(String why) {
        return new Outcome(null, why);
    }

    private static <T> T get(CompletableFuture<T> f, Duration timeout) throws ExecutionException, TimeoutException {
        try {
            return f.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ExecutionException("interrupted", e);
        }
    }

    private static String message(Exception e) {
        Throwable c = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        return c.getMessage() == null ? c.toString() : c.getMessage();
    }
}
