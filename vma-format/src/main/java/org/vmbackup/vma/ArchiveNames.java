package org.vmbackup.vma;

import java.nio.charset.StandardCharsets;

/**
 * The one rule for names that come from an archive (disk, device and config names, in every format) and end up
 * as file names: a name is accepted only if it is a plain, visible file name in its directory.
 *
 * <ul>
 *   <li>1 to {@value #MAX_BYTES} bytes in UTF-8. File systems allow 255 bytes per name; the restore paths add up
 *       to 13 bytes around the name ({@code tmp-disk-<name>.raw}, {@code .<name>.qcow2.part}), so 200 keeps every
 *       derived name legal.</li>
 *   <li>No {@code /}, no {@code \} (a separator on the other platform), no NUL, no control character (below
 *       U+0020, and U+007F): nothing that leaves the directory or garbles a terminal or log line.</li>
 *   <li>No leading dot: this also refuses {@code .} and {@code ..}, and keeps names apart from the hidden
 *       {@code .<name>.part} temporary files restores write.</li>
 * </ul>
 *
 * <p>Shared by the VMA extractor, the archive layout of backups and the restore paths, so that an archive this
 * library writes is one it can restore and vice versa.
 */
public final class ArchiveNames {
    /** The longest accepted name in UTF-8 bytes. */
    public static final int MAX_BYTES = 200;

    private ArchiveNames() {
    }

    /** Why {@code name} is not a plain file name, or {@code null} when it is one. */
    public static String problem(String name) {
        if (name.isEmpty()) {
            return "is empty";
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            return "is longer than " + MAX_BYTES + " bytes";
        }
        if (name.charAt(0) == '.') {
            return "starts with a dot";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == '\\') {
                return "contains a path separator";
            }
            if (c < 0x20 || c == 0x7f) {
                return "contains a control character";
            }
        }
        return null;
    }

    /** Whether {@code name} is a plain file name by the rules above. */
    public static boolean isSafe(String name) {
        return problem(name) == null;
    }

    /**
     * Returns {@code name} if it is a plain file name.
     *
     * @param what what the name names, for the message (e.g. {@code "disk name"})
     * @throws IllegalArgumentException naming {@code what}, the name (control characters escaped) and the rule
     */
    public static String requireSafe(String name, String what) {
        String p = problem(name);
        if (p != null) {
            throw new IllegalArgumentException(what + " '" + printable(name) + "' is not a plain file name: " + p);
        }
        return name;
    }

    /** {@code s} with control characters as {@code \xNN}, for messages. */
    public static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
