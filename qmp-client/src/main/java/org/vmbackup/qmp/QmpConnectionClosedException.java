package org.vmbackup.qmp;

/**
 * The connection to QEMU is gone (QEMU exited, the socket closed, or {@link QmpClient#close()} was called)
 * before the command got its reply. Whether QEMU executed the command is unknown.
 */
public class QmpConnectionClosedException extends QmpException {
    private static final long serialVersionUID = 1L;

    /**
     * A disconnect.
     *
     * @param message what was lost
     * @param cause why the connection closed, or {@code null}
     */
    public QmpConnectionClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
