package org.vmbackup.core;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.vmbackup.core.internal.RateLimiter;
import org.vmbackup.core.internal.RestoreThreads;

/**
 * The options every restore session's builder has: the archive, the progress listener, the executor and the
 * bandwidth limit ({@link RestoreSession.Builder}, {@link RestoreVmSession.Builder},
 * {@link LiveRestoreSession.Builder}). Not extended outside this package.
 *
 * @param <B> the session's builder, returned by every option for chaining
 */
public abstract class RestoreBuilder<B extends RestoreBuilder<B>> {
    private Path archivePath;
    private InputStream archiveStream;
    private ArchiveSource archiveSource;
    private RestoreProgressListener listener = RestoreProgressListener.NONE;
    private Executor executor;
    private long bandwidthLimit;

    /** @param threadName the name of the daemon thread the session runs on by default */
    RestoreBuilder(String threadName) {
        this.executor = RestoreThreads.perTask(threadName);
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /**
     * The archive: a VMA file or a directory archive, recognised by content ({@link ArchiveSource#open}); which
     * kinds the session can restore from, its builder's class says.
     */
    public B archive(Path archive) {
        this.archivePath = Objects.requireNonNull(archive, "archive");
        this.archiveStream = null;
        this.archiveSource = null;
        return self();
    }

    /**
     * An archive already opened, of any format (e.g. {@link ArchiveSource#snapshot} of a chunk store, or a source of
     * your own); the session owns it from now on and closes it when the restore ends.
     */
    public B archive(ArchiveSource source) {
        this.archiveSource = Objects.requireNonNull(source, "source");
        this.archivePath = null;
        this.archiveStream = null;
        return self();
    }

    /** A VMA stream as the archive: offered as {@code archive(InputStream)} by the sessions that read in order. */
    B archiveStream(InputStream archive) {
        this.archiveStream = Objects.requireNonNull(archive, "archive");
        this.archivePath = null;
        this.archiveSource = null;
        return self();
    }

    /** The progress listener, per disk (default none). */
    public B progress(RestoreProgressListener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        return self();
    }

    /** Where the session's blocking steps run (default: a new daemon thread per session). */
    public B executor(Executor executor) {
        this.executor = Objects.requireNonNull(executor, "executor");
        return self();
    }

    /**
     * Limits the restore to {@code bytesPerSecond} in total (default 0: unlimited); what counts, the session's
     * builder says.
     *
     * @throws IllegalArgumentException if negative
     */
    public B bandwidthLimit(long bytesPerSecond) {
        this.bandwidthLimit = RateLimiter.checkRate(bytesPerSecond, "bandwidthLimit");
        return self();
    }

    /**
     * The shared options, checked.
     *
     * @throws IllegalStateException when no archive was given
     */
    RestoreInputs inputs() {
        if (archivePath == null && archiveStream == null && archiveSource == null) {
            throw new IllegalStateException("no archive given");
        }
        return new RestoreInputs(archivePath, archiveStream, archiveSource, listener, executor, bandwidthLimit);
    }
}
