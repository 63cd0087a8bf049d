package org.vmbackup.core.vma;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import org.vmbackup.core.ArchiveSource;

/**
 * VMA archives as {@link ArchiveSource}s. Most callers want {@link ArchiveSource#open(Path)}, which recognises the
 * format by content, or {@link ArchiveSource#vmaStream}; these are the VMA cases of those, for a caller that
 * already knows what it holds.
 */
public final class VmaSources {
    private VmaSources() {
    }

    /**
     * An uncompressed VMA file: random access through an index built on first use.
     *
     * @throws IOException when the file is missing or its header is corrupt
     */
    public static ArchiveSource file(Path file) throws IOException {
        return VmaFileSource.open(file);
    }

    /**
     * A zstd or gzip compressed VMA file, recognised by content: sequential only.
     *
     * @throws IOException when the file is missing or its header is corrupt
     */
    public static ArchiveSource compressed(Path file) throws IOException {
        return VmaStreamSource.open(file);
    }

    /**
     * A VMA archive (uncompressed, zstd or gzip) on {@code in}: sequential only; closing the source closes the
     * stream.
     *
     * @param description how messages name the stream (e.g. {@code "stdin"})
     */
    public static ArchiveSource stream(InputStream in, String description) throws IOException {
        return VmaStreamSource.open(in, description);
    }
}
