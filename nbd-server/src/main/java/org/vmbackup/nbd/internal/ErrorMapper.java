package org.vmbackup.nbd.internal;

import java.io.IOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.vmbackup.nbd.NbdBackendException;
import org.vmbackup.nbd.NbdErrno;

/** Turns whatever a backend failed with into the errno the client is told. */
final class ErrorMapper {
    private ErrorMapper() {
    }

    static Throwable unwrap(Throwable t) {
        Throwable e = t;
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    static NbdErrno errnoOf(Throwable failure) {
        Throwable e = unwrap(failure);
        if (e instanceof NbdBackendException b) {
            return b.errno();
        }
        if (e instanceof IOException && e.getMessage() != null && e.getMessage().contains("No space left")) {
            return NbdErrno.ENOSPC;
        }
        if (e instanceof java.nio.channels.NonWritableChannelException) {
            return NbdErrno.EROFS;
        }
        return NbdErrno.EIO;
    }
}
