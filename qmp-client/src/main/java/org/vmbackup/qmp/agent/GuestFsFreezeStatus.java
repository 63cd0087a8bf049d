package org.vmbackup.qmp.agent;

import org.vmbackup.qmp.QmpProtocolException;

/** The answer of {@code guest-fsfreeze-status}: QGA's {@code GuestFsfreezeStatus}. */
public enum GuestFsFreezeStatus {
    /** No file system is frozen by the agent. */
    THAWED("thawed"),
    /** The agent froze the file systems; most other agent commands are refused until the thaw. */
    FROZEN("frozen");

    private final String wireName;

    GuestFsFreezeStatus(String wireName) {
        this.wireName = wireName;
    }

    /** The value as the agent spells it. */
    public String wireName() {
        return wireName;
    }

    static GuestFsFreezeStatus fromWire(String name) {
        for (GuestFsFreezeStatus s : values()) {
            if (s.wireName.equals(name)) {
                return s;
            }
        }
        throw new QmpProtocolException("unknown guest-fsfreeze-status value '" + name + "'");
    }
}
