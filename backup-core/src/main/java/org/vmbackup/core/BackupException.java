package org.vmbackup.core;

/** A backup or restore session failed; the message names the cause (device, command, offset). */
public class BackupException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An error with a message saying what was wrong and where. */
    public BackupException(String message) {
        super(message);
    }

    /** An error with a message and the underlying cause. */
    public BackupException(String message, Throwable cause) {
        super(message, cause);
    }
}
