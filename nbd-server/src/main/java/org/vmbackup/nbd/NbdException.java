package org.vmbackup.nbd;

/** Root of every exception the NBD server throws to its embedder. */
public class NbdException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An error with a message saying what was wrong and where. */
    public NbdException(String message) {
        super(message);
    }

    /** An error with a message and the underlying cause. */
    public NbdException(String message, Throwable cause) {
        super(message, cause);
    }
}
