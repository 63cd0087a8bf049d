package org.vmbackup.core.internal;

import java.nio.file.Path;
import org.vmbackup.core.BackupException;
import org.vmbackup.vma.ArchiveNames;

/** Turns untrusted archive device names into file names inside a target directory. */
public final class RestoreNames {
    private RestoreNames() {
    }

    /**
     * {@code dir/<device>.<extension>}; refuses a name that is not a plain file name ({@link ArchiveNames}) before
     * anything is written.
     */
    public static Path imagePath(Path dir, String device, String extension) {
        check(device);
        return dir.resolve(device + "." + extension);
    }

    /** The temporary name the image is written under until the restore succeeded. */
    public static Path tempPath(Path finalPath) {
        return finalPath.resolveSibling("." + finalPath.getFileName() + ".part");
    }

    /** Checks {@code device} can be used as a file name ({@link ArchiveNames}). */
    public static void check(String device) {
        String problem = ArchiveNames.problem(device);
        if (problem != null) {
            throw new BackupException("device name '" + ArchiveNames.printable(device)
                    + "' in the archive is not a plain file name (it " + problem + "); refusing to restore it");
        }
    }
}
