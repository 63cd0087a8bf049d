package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.vmbackup.core.vma.VmaSources;
import org.vmbackup.vma.VmaCompression;

/** Recognises an archive at a path by its content and opens the matching {@link ArchiveSource}. */
final class ArchiveSources {
    private static final int VMA_MAGIC = 0x564D4100; // "VMA\0"

    private ArchiveSources() {
    }

    static ArchiveSource open(Path path) throws IOException {
        Path p = path.toAbsolutePath().normalize();
        if (Files.isDirectory(p)) {
            if (!DirectoryArchiveSource.looksLikeOne(p)) {
                throw new IOException(p + " is a directory but not a directory archive (no "
                        + DirectoryArchiveSink.MANIFEST + ")");
            }
            return DirectoryArchiveSource.open(p);
        }
        if (!Files.exists(p)) {
            throw new NoSuchFileException(p.toString(), null, "no such archive");
        }
        if (!Files.isRegularFile(p)) {
            throw new IOException(p + " is not an archive (neither a regular file nor a directory)");
        }
        ByteBuffer head = ByteBuffer.allocate(4);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            while (head.hasRemaining() && ch.read(head) >= 0) {
                // fill the first 4 bytes
            }
        }
        head.flip();
        VmaCompression compression = VmaCompression.detect(head);
        if (compression != VmaCompression.NONE) {
            return VmaSources.compressed(p); // the reader checks the VMA magic after decompressing
        }
        if (head.remaining() == 4 && head.getInt(0) == VMA_MAGIC) {
            return VmaSources.file(p);
        }
        throw new IOException(p + " is not an archive: not a VMA archive (plain, zstd or gzip) and not a directory "
                + "archive");
    }
}
