package org.vmbackup.qmp;

/** QEMU's {@code JobStatus}, with {@link #UNKNOWN} for states added after 7.2. */
public enum QmpJobStatus {
    /** Erroneous default state; should not be seen. */
    UNDEFINED("undefined"),
    /** Created but not started. */
    CREATED("created"),
    /** Running. */
    RUNNING("running"),
    /** Paused by the user or an error policy. */
    PAUSED("paused"),
    /** A mirror/commit job ready to complete. */
    READY("ready"),
    /** A ready job that is paused. */
    STANDBY("standby"),
    /** Finished its work, waiting for other jobs in its transaction. */
    WAITING("waiting"),
    /** Waiting for {@code job-finalize} (auto-finalize=false). */
    PENDING("pending"),
    /** Being cancelled or failing. */
    ABORTING("aborting"),
    /** Finished, waiting for {@code job-dismiss} (auto-dismiss=false); the error, if any, is in query-jobs. */
    CONCLUDED("concluded"),
    /** Gone: dismissed. */
    NULL("null"),
    /** A state this client does not know. */
    UNKNOWN("");

    private final String wireName;

    QmpJobStatus(String wireName) {
        this.wireName = wireName;
    }

    /** The name QEMU uses. */
    public String wireName() {
        return wireName;
    }

    /** The constant for a wire name, {@link #UNKNOWN} if new. */
    public static QmpJobStatus fromWire(String name) {
        for (QmpJobStatus s : values()) {
            if (s != UNKNOWN && s.wireName.equals(name)) {
                return s;
            }
        }
        return UNKNOWN;
    }
}
