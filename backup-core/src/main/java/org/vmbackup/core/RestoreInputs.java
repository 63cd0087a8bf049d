package org.vmbackup.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.concurrent.Executor;

/**
 * What a restore session took from {@link RestoreBuilder}: exactly one of the archive's path, stream or opened
 * source, and the listener, executor and bandwidth limit (bytes/s, 0 unlimited).
 */
record RestoreInputs(Path archivePath, InputStream archiveStream, ArchiveSource archiveSource,
        RestoreProgressListener listener, Executor executor, long bandwidthLimit) {

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
}
