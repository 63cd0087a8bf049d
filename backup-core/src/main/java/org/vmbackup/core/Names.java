package org.vmbackup.core;

/** Checks names that end up as file names or archive entries, so none can point outside its directory. */
final class Names {
    private static final int MAX_LENGTH = 255;

    private Names() {
    }

    static String requireSafe(String name, String what) {
        if (name.isEmpty() || name.length() > MAX_LENGTH) {
            throw new IllegalArgumentException(what + " must be 1.." + MAX_LENGTH + " characters: '" + name + "'");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException(what + " must not be '.' or '..'");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException(what + " contains a path separator or control character: '"
                        + name + "'");
            }
        }
        return name;
    }
}
