package org.vmbackup.vma;

import java.nio.file.Path;

/** Archive names are untrusted: only plain file names may become files, and only inside the target directory. */
final class SafeNames {
    private SafeNames() {
    }

    /** {@code dir/fileName} after checking the name is a plain, harmless file name. */
    static Path resolve(Path dir, String fileName, String what) {
        boolean bad = fileName.isEmpty() || fileName.equals(".") || fileName.equals("..")
                || fileName.indexOf('/') >= 0 || fileName.indexOf('\\') >= 0 || fileName.indexOf('\0') >= 0
                || fileName.chars().anyMatch(c -> c < 0x20);
        Path p = dir.resolve(fileName).normalize();
        if (bad || !dir.normalize().equals(p.getParent())) {
            throw new VmaFormatException("refusing to extract " + what + " named '" + printable(fileName)
                    + "': not a plain file name inside the target directory");
        }
        return p;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> b.append(c < 0x20 || c == 0x7F ? "\\x" + Integer.toHexString(c)
                : new String(Character.toChars(c))));
        return b.toString();
    }
}
