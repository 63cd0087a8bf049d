package org.vmbackup.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.RestoreImageFile;

/**
 * What a restore session took from {@link RestoreBuilder}: exactly one of the archive's path, stream or opened
 * source, and the listener, executor and bandwidth limit (bytes/s, 0 unlimited).
 */
record RestoreInputs(Path archivePath, InputStream archiveStream, ArchiveSource archiveSource,
        RestoreProgressListener listener, Executor executor, long bandwidthLimit) {
    private static final Logger log = LoggerFactory.getLogger(RestoreInputs.class);

    /** Opens the archive (an opened source is handed over as it is); the caller closes it. */
    ArchiveSource open() throws IOException {
        return archiveSource != null ? archiveSource
                : archivePath != null ? ArchiveSource.open(archivePath)
                : ArchiveSource.vmaStream(archiveStream, "the archive stream");
    }

    /** Closes the archive stream, if that is the archive: ends a read blocked in it, which no check reaches. */
    void closeStreamQuietly() {
        if (archiveStream != null) {
            try {
                archiveStream.close();
            } catch (IOException e) {
                // cancelling anyway
            }
        }
    }

    /** Tells the listener how far disk image {@code f} is; a failing listener is logged, never the restore's end. */
    void progress(RestoreImageFile f, boolean finished) {
        try {
            listener.progress(new RestoreProgress(f.device().name(), finished ? f.device().size() : f.doneBytes(),
                    f.device().size(), finished));
        } catch (RuntimeException e) {
            log.warn("progress listener failed", e);
        }
    }
}
