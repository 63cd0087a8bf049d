package org.vmbackup.core.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.core.ConfigBlob;
import org.vmbackup.core.VmDescription;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.agent.GuestAgentClient;
import org.vmbackup.qmp.agent.GuestAgentSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Thaws a restored guest that was saved frozen. A backup with the VM state and {@code --fs-freeze} saves the guest as
 * it was at the instant, with its file systems frozen (the freeze covers the instant); its restore resumes that
 * frozen guest, whose writes then block until someone thaws it. The archive says so ({@link
 * VmDescription#guestFrozen()}), and once the restored guest runs this thaws it through its agent. It never fails the
 * restore: a guest that cannot be reached is logged (the guest runs; an operator can thaw it).
 */
public final class RestoredGuestThaw {
    private static final Logger log = LoggerFactory.getLogger(RestoredGuestThaw.class);
    /** The agent of a guest just resumed answers within a second or two even under TCG; a silent one costs this. */
    private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(10);

    private RestoredGuestThaw() {
    }

    /** Whether {@code source}'s {@code vm.json} says the guest was saved frozen. */
    public static boolean savedFrozen(ArchiveSource source) {
        for (ConfigBlob c : source.layout().configs()) {
            if (c.name().equals(VmDescription.CONFIG_NAME)) {
                try {
                    return VmDescriptionReader.read(c.content()).guestFrozen();
                } catch (IllegalArgumentException e) {
                    return false; // a vm.json of another writer: nothing to say about a freeze
                }
            }
        }
        return false;
    }

    /**
     * Thaws the running guest of {@code qmp} through its {@code org.qemu.guest_agent.0} channel; bounded, never
     * throws.
     *
     * @return what happened, for the log and the result (e.g. {@code "thawed 1 file system"})
     */
    public static String thaw(QmpClient qmp) {
        try {
            Optional<Path> socket = GuestAgentSocket.find(qmp).get(AGENT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (socket.isEmpty()) {
                log.warn("the restored guest was saved with its file systems frozen, but its QEMU has no guest agent "
                        + "channel to thaw them: thaw it in the guest (fsfreeze -u)");
                return "not thawed: no guest agent channel";
            }
            GuestAgentClient agent = GuestAgentClient.builder(socket.get()).timeout(AGENT_TIMEOUT)
                    .connectTimeout(AGENT_TIMEOUT).connect().get(AGENT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            try {
                int n = agent.thaw(AGENT_TIMEOUT).get(AGENT_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
                log.info("restored guest thawed: {} file system(s)", n);
                return "thawed " + n + " file system(s)";
            } finally {
                agent.close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "not thawed: interrupted";
        } catch (Exception e) {
            String why = GuestAgentClient.unwrap(e).getMessage();
            log.warn("the restored guest was saved with its file systems frozen and could not be thawed through its "
                    + "agent: {}; thaw it in the guest (fsfreeze -u)", why);
            return "not thawed: " + why;
        }
    }
}
