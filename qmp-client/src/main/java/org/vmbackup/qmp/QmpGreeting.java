package org.vmbackup.qmp;

import java.util.List;

/**
 * The greeting QEMU sends on connect: {@code {"QMP": {"version": ..., "capabilities": [...]}}}.
 *
 * @param version the QEMU version
 * @param capabilities the capabilities QEMU offers (in 7.2 at most {@code "oob"})
 * @param raw the whole greeting message
 */
public record QmpGreeting(QmpVersion version, List<String> capabilities, JsonObject raw) {
    /** Copies the capability list. */
    public QmpGreeting {
        capabilities = List.copyOf(capabilities);
    }

    /** Decodes a greeting message. */
    public static QmpGreeting decode(JsonObject message) {
        Json qmp = message.require("QMP");
        List<String> caps = qmp.opt("capabilities").map(c -> c.elements().stream().map(Json::asString).toList())
                .orElse(List.of());
        return new QmpGreeting(QmpVersion.decode(qmp.require("version")), caps, message);
    }

    /** Whether QEMU offers a capability. */
    public boolean offers(String capability) {
        return capabilities.contains(capability);
    }
}
