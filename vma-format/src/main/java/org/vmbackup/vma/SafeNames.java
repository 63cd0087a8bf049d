package org.vmbackup.vma;

import java.nio.file.Path;

/** Archive names are untrusted: only plain file names ({@link ArchiveNames}) become files, inside the target. */
final class SafeNames {
    private SafeNames() {
    }

    /**
     * {@code dir/<prefix><name><suffix>} after checking that {@code name} (the part from the archive) is a plain
     * file name and the result lies directly in {@code dir}.
     */
    static Path resolve(Path dir, String prefix, String name, String suffix, String what) {
        String problem = ArchiveNames.problem(name);
        Path p = problem == null ? dir.resolve(prefix + name + suffix).normalize() : null;
        if (problem != null || !dir.normalize().equals(p.getParent())) {
            throw new VmaFormatException("refusing to extract " + what + " named '" + ArchiveNames.printable(name)
                    + "': not a plain file name inside the target directory"
                    + (problem == null ? "" : " (it " + problem + ")"));
        }
        return p;
    }
}
