package org.vmbackup.qmp;

import java.time.Duration;

/**
 * No reply (or event, or connection) within the allowed time. For a command, QEMU may still execute it:
 * QMP commands cannot be cancelled; the late reply is discarded.
 */
public class QmpTimeoutException extends QmpException {
    private static final long serialVersionUID = 1L;

    private final transient Duration timeout;

    /**
     * A timeout.
     *
     * @param message what was waited for
     * @param timeout how long
     */
    public QmpTimeoutException(String message, Duration timeout) {
        super(message);
        this.timeout = timeout;
    }

    /** How long was waited. */
    public Duration timeout() {
        return timeout;
    }
}
