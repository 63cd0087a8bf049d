package org.vmbackup.core;

import org.vmbackup.vma.ArchiveNames;

/** Checks names that end up as file names or archive entries by the one rule in {@link ArchiveNames}. */
final class Names {
    private Names() {
    }

    static String requireSafe(String name, String what) {
        return ArchiveNames.requireSafe(name, what);
    }
}
