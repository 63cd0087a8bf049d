package org.vmbackup.qmp;

/**
 * The peer broke the QMP specification: malformed JSON, a message larger than the configured limit, a reply
 * without {@code return} or {@code error}, a missing greeting, or a reply member of the wrong type.
 */
public class QmpProtocolException extends QmpException {
    private static final long serialVersionUID = 1L;

    /**
     * A protocol violation.
     *
     * @param message what was wrong and where
     */
    public QmpProtocolException(String message) {
        super(message);
    }

    /**
     * A protocol violation with its cause.
     *
     * @param message what was wrong and where
     * @param cause the parser's exception
     */
    public QmpProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
