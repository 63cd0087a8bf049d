package org.vmbackup.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.backend.FileBackend;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.nbd.backend.NullBackend;
import org.vmbackup.nbd.backend.ReadOnlyBackend;
import picocli.CommandLine.Option;

/**
 * Where {@code nbd serve} gets its export's data: exactly one of the options. A new source (an archive, say) is
 * one more option here and one more branch in {@link #open}.
 */
final class NbdBackendSource {
    @Option(names = "--memory", paramLabel = "SIZE", converter = NbdSizeConverter.class,
            description = "A sparse in-memory disk of SIZE bytes (e.g. 1G, 512M), kept off the Java heap.")
    Long memory;

    @Option(names = "--null", paramLabel = "SIZE", converter = NbdSizeConverter.class,
            description = "A disk of SIZE bytes that discards writes and reads as zeroes.")
    Long nullSize;

    @Option(names = "--file", paramLabel = "PATH", description = "A raw image file (its size is the export size).")
    Path file;

    @Option(names = {"--archive", "--vma"}, paramLabel = "ARCHIVE",
            description = "Every disk of an archive (an uncompressed VMA file or a directory archive), read-only, "
                    + "one export per disk name. --vma is its old name.")
    Path archive;

    @Option(names = "--store", paramLabel = "STORE",
            description = "Every disk of a chunk-store snapshot (--snapshot ID), read-only, one export per disk name.")
    String store; // a directory or s3://BUCKET/PREFIX (a Path would fold the URL's //)

    /** The backend and whatever must be closed after serving. */
    record Opened(NbdBackend backend, AutoCloseable resource) {
    }

    /** Opens the source; {@code preallocate} (with {@code --memory} only) touches all its memory first. */
    Opened open(boolean readOnly, boolean preallocate) throws IOException {
        Opened opened;
        if (memory != null) {
            opened = new Opened(preallocate ? preallocated(memory) : new MemoryBackend(memory), () -> { });
        } else if (nullSize != null) {
            opened = new Opened(new NullBackend(nullSize), () -> { });
        } else {
            FileBackend f = FileBackend.open(file, readOnly);
            opened = new Opened(f, f);
        }
        return readOnly ? new Opened(new ReadOnlyBackend(opened.backend()), opened.resource()) : opened;
    }

    private static MemoryBackend preallocated(long size) throws IOException {
        try {
            return MemoryBackend.preallocated(size);
        } catch (OutOfMemoryError e) {
            // Direct memory is limited by -XX:MaxDirectMemorySize (default: the heap size), not by the machine.
            throw new IOException("cannot preallocate a memory export of " + size + " bytes: " + e.getMessage()
                    + " (raise -XX:MaxDirectMemorySize in JAVA_OPTS)");
        }
    }
}
