package org.vmbackup.cli;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.vmbackup.store.StoreBackend;
import org.vmbackup.store.s3.S3Backend;
import org.vmbackup.store.s3.S3Location;
import org.vmbackup.store.s3.S3Options;

/**
 * Opens the {@code s3://} store a command line names on a thread of its own from the command's first moment, before
 * picocli parses it: building the AWS SDK's client and its first request (the bucket check) are 0.6-0.9 s of class
 * loading and set-up (BENCHMARKS.md), which then overlap the JVM's and picocli's start on the other core instead of
 * following them. {@link StoreLocation} takes the backend when the command opens that location; a failure is
 * thrown there, as its own open would have thrown it. Only {@link VmaBackupCli#main} starts it (one command per
 * JVM), never for {@code --help} or {@code --version}; an open never taken is a daemon thread's waste, no more.
 */
final class S3EarlyOpen {
    private static final List<String> NO_STORE_OPTIONS = List.of("-h", "--help", "-V", "--version");
    private static final AtomicReference<Early> EARLY = new AtomicReference<>();

    private record Early(String location, CompletableFuture<StoreBackend> backend) {
    }

    private S3EarlyOpen() {
    }

    /** Starts opening the first {@code s3://} location among {@code args}, if there is one. */
    static void start(String[] args) {
        String location = null;
        for (String a : args) {
            if (NO_STORE_OPTIONS.contains(a)) {
                return;
            }
            if (location == null && S3Location.isS3(a)) {
                location = a;
            }
        }
        if (location == null) {
            return;
        }
        S3Location where;
        try {
            where = S3Location.parse(location);
        } catch (IllegalArgumentException e) {
            return; // the command reports it in its own words
        }
        CompletableFuture<StoreBackend> f = new CompletableFuture<>();
        EARLY.set(new Early(location, f));
        Thread t = new Thread(() -> {
            try {
                f.complete(S3Backend.open(where, S3Options.fromEnvironment()));
            } catch (IOException | RuntimeException e) {
                f.completeExceptionally(e);
            }
        }, "vmabackup-s3-open");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The backend opened early for {@code location}, waiting for it, once; null when none was (another location, or
     * a bandwidth limit, which the early open did not apply: then the caller opens its own).
     *
     * @throws IOException the early open's failure
     */
    static StoreBackend take(String location, long bwlimit) throws IOException {
        Early e = EARLY.get();
        if (e == null || !e.location().equals(location) || !EARLY.compareAndSet(e, null)) {
            return null;
        }
        if (bwlimit > 0) {
            e.backend().thenAccept(S3EarlyOpen::closeQuietly);
            return null;
        }
        try {
            return e.backend().get();
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while opening " + location);
        } catch (ExecutionException ee) {
            if (ee.getCause() instanceof IOException io) {
                throw io;
            }
            throw ee.getCause() instanceof RuntimeException r ? r : new IllegalStateException(ee.getCause());
        }
    }

    private static void closeQuietly(StoreBackend b) {
        try {
            b.close();
        } catch (IOException | RuntimeException e) {
            // an unused client: nothing was written through it
        }
    }
}
