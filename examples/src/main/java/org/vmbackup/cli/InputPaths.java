package org.vmbackup.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.vmbackup.core.DirectoryArchiveSink;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Checks the paths on a command line before any work starts, so a wrong path fails at once with its role in the
 * message ("cannot read archive X: no such file") instead of deep inside a session, after side effects, with an
 * exception that knows the path but not what it was for.
 */
final class InputPaths {
    private InputPaths() {
    }

    /**
     * {@code path} is a file that can be read ({@code what}: "archive", "image", ...). A regular file must yield
     * its first byte (catches files that open but cannot be read, like {@code /proc/self/mem}); pipes are not
     * read, so a process substitution still works.
     */
    static void readable(String what, Path path) {
        BasicFileAttributes a = attributes("cannot read " + what + " " + path, path);
        if (a.isDirectory()) {
            throw new CliFailure("cannot read " + what + " " + path + ": is a directory");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (a.isRegularFile()) {
                ch.read(ByteBuffer.allocate(1), 0);
            }
        } catch (IOException e) {
            throw new CliFailure("cannot read " + what + " " + path + ": " + FailureMessages.reason(e), e);
        }
    }

    /** {@code path} is an archive that can be read and is not empty (an empty file would read as "bad magic"). */
    static void archive(Path path) {
        readable("archive", path);
        try {
            if (Files.isRegularFile(path) && Files.size(path) == 0) {
                throw new CliFailure("cannot read archive " + path + ": the file is empty");
            }
        } catch (IOException e) {
            throw new CliFailure("cannot read archive " + path + ": " + FailureMessages.reason(e), e);
        }
    }

    /**
     * {@code path} is an archive a restore can read: a directory archive (a directory with its manifest), or else a
     * file as {@link #archive} checks it. What is inside is checked when it is opened.
     */
    static void archiveOrDirectory(Path path) {
        if (Files.isDirectory(path)) {
            if (!Files.isRegularFile(path.resolve(DirectoryArchiveSink.MANIFEST))) {
                throw new CliFailure("cannot read archive " + path + ": is a directory, but not a directory archive "
                        + "(no " + DirectoryArchiveSink.MANIFEST + ")");
            }
            return;
        }
        archive(path);
    }

    /** {@code path} does not exist yet and its directory does: a new file or directory can be made there. */
    static void creatable(String what, Path path) {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            throw new CliFailure("cannot create " + what + " " + path + ": it already exists");
        }
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            directory("cannot create " + what + " " + path, parent);
        }
    }

    /**
     * {@code path} is a directory, or can be created as one: the nearest existing ancestor is a directory (the
     * commands create missing levels).
     */
    static void directoryOrCreatable(String what, Path path) {
        Path p = path.toAbsolutePath();
        while (p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            p = p.getParent();
        }
        if (p != null) {
            directory("cannot use " + what + " " + path, p);
        }
    }

    private static void directory(String context, Path dir) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(dir, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new CliFailure(context + ": no such directory " + dir, e);
        } catch (IOException e) {
            throw new CliFailure(context + ": " + dir + ": " + FailureMessages.reason(e), e);
        }
        if (!a.isDirectory()) {
            throw new CliFailure(context + ": " + dir + " is not a directory");
        }
    }

    private static BasicFileAttributes attributes(String context, Path path) {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new CliFailure(context + ": no such file", e);
        } catch (FileSystemException e) {
            throw new CliFailure(context + ": " + FailureMessages.reason(e), e);
        } catch (IOException e) {
            throw new CliFailure(context + ": " + FailureMessages.describe(e), e);
        }
    }
}
