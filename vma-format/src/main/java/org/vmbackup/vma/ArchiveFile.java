package org.vmbackup.vma;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A file written under a temporary name that appears under its final name only when {@link #commit() committed}
 * whole, and is deleted when {@link #discard() discarded}: what {@link VmaWriter} does with an archive and
 * {@link VmaExtractor} with each disk image. For an archive it also builds the output: compression by the final
 * name, O_DIRECT where asked and possible, fsync before the rename where asked.
 */
final class ArchiveFile {
    private static final Logger log = LoggerFactory.getLogger(ArchiveFile.class);

    private final Path finalPath;
    private final Path temp;
    private final FileChannel channel;
    /** What the final name holds, for the "already exists" message. */
    private final String what;

    private ArchiveFile(Path finalPath, Path temp, FileChannel channel, String what) {
        this.finalPath = finalPath;
        this.temp = temp;
        this.channel = channel;
        this.what = what;
    }

    /**
     * Creates {@code temp} (which must not exist) for a file that will become {@code finalPath}; {@code temp} equal
     * to {@code finalPath} writes in place (commit then only closes).
     *
     * @param what what the file is, for messages (e.g. {@code "archive"})
     */
    static ArchiveFile create(Path finalPath, Path temp, String what) throws IOException {
        try {
            return new ArchiveFile(finalPath, temp, FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE), what);
        } catch (FileAlreadyExistsException e) {
            throw new FileAlreadyExistsException(temp.toString(), null,
                    "temporary file exists (left over from an interrupted run? remove it)");
        }
    }

    /** The temporary name an archive is written under: {@code <name>.part}. */
    static Path partName(Path file) {
        return file.resolveSibling(file.getFileName() + ".part");
    }

    /** The file, open for writing; closed by {@link #commit()} or {@link #discard()}. */
    FileChannel channel() {
        return channel;
    }

    /** The temporary name. */
    Path temp() {
        return temp;
    }

    /** The name the file gets on commit. */
    Path finalPath() {
        return finalPath;
    }

    /**
     * The archive output into this file: compressed by the final name's extension ({@code .zst}, {@code .gz}),
     * through O_DIRECT when {@code directIo} and uncompressed (silently the page cache where the file system has
     * none, e.g. tmpfs), forced to stable storage on close when {@code sync}. Closing it closes the file.
     */
    WritableByteChannel output(boolean directIo, boolean sync, int level, int workers) throws IOException {
        VmaCompression compression = VmaCompression.forFileName(finalPath);
        WritableByteChannel data = channel;
        if (directIo && compression == VmaCompression.NONE) {
            try {
                data = DirectFileOutput.open(temp);
            } catch (IOException | UnsupportedOperationException e) {
                log.debug("{}: no O_DIRECT here ({}), writing through the page cache", temp, e.toString());
            }
        }
        WritableByteChannel body = data;
        FileChannel ch = channel;
        WritableByteChannel file = new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) throws IOException {
                return body.write(src);
            }

            @Override
            public boolean isOpen() {
                return ch.isOpen();
            }

            @Override
            public void close() throws IOException {
                try (ch) {
                    if (body != ch) {
                        body.close();
                    }
                    if (sync) {
                        ch.force(true); // after the compressor's last frame, before the rename
                    }
                }
            }
        };
        return compression.compress(file, level, workers);
    }

    /**
     * Closes the file and renames it to its final name.
     *
     * @throws FileAlreadyExistsException when the final name appeared meanwhile (the temporary file stays)
     */
    void commit() throws IOException {
        channel.close();
        if (temp.equals(finalPath)) {
            return;
        }
        if (Files.exists(finalPath)) {
            throw new FileAlreadyExistsException(finalPath.toString(), null, what + " already exists");
        }
        Files.move(temp, finalPath, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Closes and deletes the temporary file; best effort, never throws (the caller reports the real failure). */
    void discard() {
        try {
            channel.close();
        } catch (IOException e) {
            // deleting is what matters
        }
        try {
            Files.deleteIfExists(temp);
        } catch (IOException e) {
            log.debug("could not delete {}: {}", temp, e.toString());
        }
    }
}
