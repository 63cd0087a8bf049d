package org.vmbackup.core.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.FsFreeze;
import org.vmbackup.core.FsFreezeResult;
import org.vmbackup.qmp.command.QueryCommands.QueryStatus;

/**
 * The step that freezes the guest's file systems around the instant ({@link FsFreeze#REQUIRED} or
 * {@link FsFreeze#TRY}) through {@link GuestFreeze}, with its undo (thaw) pushed before the freeze is asked for.
 * With {@code TRY}, anything that keeps the freeze from holding makes the backup crash-consistent and says why.
 */
final class BackupFreeze {
    private static final Logger log = LoggerFactory.getLogger(BackupFreeze.class);
    /** The longest each guest agent call before the freeze may take: a silent agent must not delay a backup long. */
    private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(10);

    private final FsFreeze mode;
    private final Duration bound;
    // null without a freeze (off, or unavailable with TRY: note then says why)
    private GuestFreeze freeze;
    private boolean held;
    private String note = "";

    /**
     * A freeze in {@code mode}, thawed by its watchdog after {@code bound} at the latest.
     */
    BackupFreeze(FsFreeze mode, Duration bound) {
        this.mode = mode;
        this.bound = bound;
    }

    /**
     * Reaches the guest agent, or says why it cannot (and fails for {@code REQUIRED}); done before anything is
     * done to QEMU, so a missing agent changes nothing.
     *
     * @param agentSocket the agent's socket, or null for the VM's own agent channel
     */
    void open(QemuCalls q, Cleanup cleanup, boolean guestRunning, Path agentSocket, Duration commandTimeout) {
        if (mode == FsFreeze.OFF) {
            return;
        }
        String unavailable;
        if (!guestRunning) {
            unavailable = "the guest is paused, so its agent cannot freeze anything";
        } else {
            Duration limit = commandTimeout.compareTo(AGENT_TIMEOUT) < 0 ? commandTimeout : AGENT_TIMEOUT;
            GuestAgentLink.Outcome link = GuestAgentLink.open(q.client(), agentSocket, limit);
            unavailable = link.unavailable();
            if (link.client() != null) {
                var agent = link.client();
                cleanup.push("close the guest agent connection", agent::close);
                // asked, not assumed from the connection's state: its close may not have been noticed yet
                BooleanSupplier qemuAlive = () -> q.tryQuery(new QueryStatus(), limit).isPresent();
                GuestFreeze f = new GuestFreeze(GuestFreeze.of(agent), bound, limit, qemuAlive);
                cleanup.push("stop the freeze watchdog", f::close);
                freeze = f;
                return;
            }
        }
        if (mode == FsFreeze.REQUIRED) {
            throw new BackupException("cannot freeze the guest's file systems: " + unavailable
                    + "; nothing was done to the guest");
        }
        log.warn("not freezing the guest's file systems: {}; the backup is crash-consistent", unavailable);
        note = unavailable;
    }

    /** Whether the guest's agent answered, so the guest will be frozen over the instant (known after open). */
    boolean willFreeze() {
        return freeze != null;
    }

    /**
     * Freezes the guest's file systems right before the instant; the thaw is on the undo stack first.
     *
     * @param stopping whether the run is being cancelled (a failed freeze then fails the run even with TRY)
     */
    void freeze(Cleanup cleanup, BooleanSupplier stopping) {
        if (freeze == null) {
            return;
        }
        GuestFreeze f = freeze;
        cleanup.push("thaw the guest's file systems", f::thaw); // runs after the guest's run state is restored
        try {
            f.freeze();
            held = true;
        } catch (BackupException e) {
            if (mode == FsFreeze.REQUIRED || stopping.getAsBoolean() || Thread.currentThread().isInterrupted()) {
                throw e;
            }
            f.thaw(); // a freeze that timed out may still have happened in the guest
            log.warn("{}; the backup is crash-consistent", e.getMessage());
            note = e.getMessage();
        }
    }

    /** Thaws right after the instant (the guest runs again); fails a REQUIRED freeze that did not hold. */
    void thaw() {
        if (freeze == null) {
            return;
        }
        freeze.thaw();
        if (held && freeze.watchdogFired()) {
            held = false;
            String why = "the file-system freeze outlived its bound of " + bound
                    + " before the backup's instant was taken: the watchdog thawed the guest";
            if (mode == FsFreeze.REQUIRED) {
                throw new BackupException(why);
            }
            log.warn("{}; the backup is crash-consistent", why);
            note = why;
        }
    }

    /** Why the guest's file systems may still be frozen after the run ({@code ""}: they are not). */
    String thawFailure() {
        return freeze == null ? "" : freeze.thawFailure();
    }

    /** What the freeze achieved, for the result. */
    FsFreezeResult result() {
        if (mode == FsFreeze.OFF) {
            return FsFreezeResult.off();
        }
        if (freeze == null) {
            return new FsFreezeResult(mode, false, 0, Duration.ZERO, note, "");
        }
        return new FsFreezeResult(mode, held, held ? freeze.frozenFileSystems() : 0, freeze.window(), note,
                freeze.thawFailure());
    }
}
