package org.vmbackup.vma;

/** A VMA archive is malformed, corrupt, truncated or incomplete; the message names the byte offset and what was wrong. */
public class VmaFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An error with a message saying what was wrong and where. */
    public VmaFormatException(String message) {
        super(message);
    }

    /** An error with a message and the underlying cause. */
    public VmaFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
