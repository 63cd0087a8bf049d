package org.vmbackup.core.internal;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.vmbackup.core.BackupException;

/** How a {@link BackupRun} words and weighs its failures. */
final class BackupFailures {
    private BackupFailures() {
    }

    /** {@code e} as the session's exception: a {@link BackupException} as is, anything else wrapped in words. */
    static BackupException asBackup(Throwable e) {
        if (e instanceof BackupException be) {
            return be;
        }
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        return new BackupException("backup failed: " + m, e);
    }

    /** Whether an I/O error (disk full...) is among the causes: it explains more than its follow-up failures. */
    static boolean hasIoCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    /** Waits at most 30 s for {@code f}; its failure becomes "{@code what} failed: why". */
    static <T> T await(CompletableFuture<T> f, String what) throws Exception {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new BackupException(what + " failed: " + e.getCause().getMessage(), e.getCause());
        }
    }
}
