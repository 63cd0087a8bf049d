package org.vmbackup.cli;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.vmbackup.vma.VmaFormatException;

/**
 * What a failed restore leaves and says: the directories it created for its output are removed again when they
 * stayed empty (the session already removes its partial images), and an archive format error names the archive
 * (the reader only knows the offset).
 */
final class RestoreFailures {
    private RestoreFailures() {
    }

    /** Runs {@code restore}, which writes into {@code dir} (may be null), reading {@code archive}. */
    static int leavingNothing(Path dir, String archive, Callable<Integer> restore) throws Exception {
        List<Path> created = new ArrayList<>();
        for (Path p = dir == null ? null : dir.toAbsolutePath(); p != null && !Files.exists(p,
                LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
            created.add(p); // deepest first
        }
        try {
            return restore.call();
        } catch (Exception e) {
            for (Path p : created) {
                try {
                    Files.deleteIfExists(p);
                } catch (DirectoryNotEmptyException kept) {
                    break; // something of value is inside: leave it and its parents
                } catch (IOException ignored) {
                    break; // the failure being reported matters more than this leftover
                }
            }
            VmaFormatException f = formatError(e);
            if (f != null) {
                throw new CliFailure("cannot read " + ("-".equals(archive) ? "archive on stdin" : "archive " + archive)
                        + ": " + f.getMessage(), f);
            }
            throw e;
        }
    }

    /** The VMA format error behind {@code e} (an archive source wraps it in an I/O error naming the archive). */
    private static VmaFormatException formatError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof VmaFormatException f) {
                return f;
            }
        }
        return null;
    }
}
