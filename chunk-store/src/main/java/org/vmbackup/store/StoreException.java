package org.vmbackup.store;

import java.io.IOException;

/**
 * A store operation failed for a reason a user can read: the message is one line in words naming the object
 * (store, snapshot, disk, chunk) and why, e.g. {@code store /b: format version 3 is newer than this program's 1}.
 */
public class StoreException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * A failure described by {@code message}.
     *
     * @param message one line naming what failed and why
     */
    public StoreException(String message) {
        super(message);
    }

    /**
     * A failure described by {@code message}, caused by {@code cause}.
     *
     * @param message one line naming what failed and why
     * @param cause the underlying failure
     */
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
