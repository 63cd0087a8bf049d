package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A fresh directory only the current user can enter (0700), holding a session's unix sockets; its sockets
 * are restricted to 0600 as well. Deleted with everything in it on close.
 */
public final class PrivateDir implements AutoCloseable {
    private final Path dir;

    private PrivateDir(Path dir) {
        this.dir = dir;
    }

    /** Creates a private directory under the system temporary directory. */
    public static PrivateDir create(String prefix) throws IOException {
        return new PrivateDir(Files.createTempDirectory(prefix,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))));
    }

    /** The directory. */
    public Path path() {
        return dir;
    }

    /** A path inside the directory. */
    public Path resolve(String name) {
        return dir.resolve(name);
    }

    /** Restricts an existing socket file to its owner (0600). */
    public static void restrict(Path socket) throws IOException {
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    }

    @Override
    public void close() {
        FileTrees.deleteQuietly(dir);
    }
}
