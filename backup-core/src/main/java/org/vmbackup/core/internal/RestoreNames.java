package org.vmbackup.core.internal;

import java.nio.file.Path;
import org.vmbackup.core.BackupException;

/** Turns untrusted archive device names into file names inside a target directory. */
public final class RestoreNames {
    private RestoreNames() {
    }

    /**
     * {@code dir/<device>.<extension>}; refuses a name that is not a plain file name (separators, NUL, control
     * characters, {@code .}/{@code ..}, leading dot) before anything is written.
     */
    public static Path imagePath(Path dir, String device, String extension) {
        check(device);
        return dir.resolve(device + "." + extension);
    }

    /** The temporary name the image is written under until the restore succeeded. */
    public static Path tempPath(Path finalPath) {
        return finalPath.resolveSibling("." + finalPath.getFileName() + ".part");
    }

    /** Checks {@code device} can be used as a file name. */
    public static void check(String device) {
        boolean bad = device.isEmpty() || device.length() > 200 || device.equals(".") || device.equals("..")
                || device.startsWith(".");
        for (int i = 0; i < device.length() && !bad; i++) {
            char c = device.charAt(i);
            bad = c == '/' || c == '\\' || c < 0x20 || c == 0x7f;
        }
        if (bad) {
            throw new BackupException("device name '" + printable(device)
                    + "' in the archive is not a plain file name; refusing to restore it");
        }
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return b.toString();
    }
}
