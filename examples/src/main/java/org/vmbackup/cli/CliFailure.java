package org.vmbackup.cli;

/**
 * A failure whose message is already the line to print after the command's name: what failed and where, in words.
 * Commands throw it when they know the context a lower layer's exception lacks (which file is the archive, which
 * the image).
 */
final class CliFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CliFailure(String message) {
        super(message);
    }

    CliFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
