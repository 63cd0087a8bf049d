package org.vmbackup.nbd;

import java.util.Objects;

/** A backend's refusal of one request, with the reason the client is told. */
public class NbdBackendException extends NbdException {
    private static final long serialVersionUID = 1L;

    private final NbdErrno errno;

    /** A failure with the reason sent to the client and a message for the logs. */
    public NbdBackendException(NbdErrno errno, String message) {
        super(message);
        this.errno = Objects.requireNonNull(errno, "errno");
    }

    /** A failure with the reason sent to the client, a message and its cause. */
    public NbdBackendException(NbdErrno errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = Objects.requireNonNull(errno, "errno");
    }

    /** The reason the client is told. */
    public NbdErrno errno() {
        return errno;
    }
}
