package org.vmbackup.qmp;

/** Root of every exception the QMP client throws. */
public class QmpException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An error with a message saying what was wrong and where. */
    public QmpException(String message) {
        super(message);
    }

    /** An error with a message and the underlying cause. */
    public QmpException(String message, Throwable cause) {
        super(message, cause);
    }
}
