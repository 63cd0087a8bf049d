package org.vmbackup.core;

import java.io.IOException;
import java.nio.file.Path;
import org.vmbackup.core.vma.VmaArchiveSink;

/**
 * Opens an {@link ArchiveSink} once the session knows the archive's layout. {@link #of(Path)} picks the
 * format by the path's name; any other format is a lambda returning a custom sink.
 */
@FunctionalInterface
public interface ArchiveTarget {
    /**
     * Opens a sink for {@code layout}. Nothing appears under the final name before {@link ArchiveSink#commit()}.
     *
     * @throws IOException when the archive cannot be created (the final name exists, no space...)
     */
    ArchiveSink open(ArchiveLayout layout) throws IOException;

    /**
     * A directory of sparse raw images ({@code disk-<name>.raw}), {@code vmstate.bin} and {@code manifest.json}
     * at {@code dir}, which must not exist yet.
     */
    static ArchiveTarget directory(Path dir) {
        return layout -> DirectoryArchiveSink.open(dir, layout);
    }

    /** A VMA archive at {@code file} ({@code .vma}, {@code .vma.zst} zstd, {@code .vma.gz} gzip by name). */
    static ArchiveTarget vma(Path file) {
        return layout -> VmaArchiveSink.open(file, layout);
    }

    /** Whether {@code path}'s name says VMA: {@code .vma}, {@code .vma.zst} or {@code .vma.gz}. */
    static boolean isVmaName(Path path) {
        String n = path.getFileName() == null ? "" : path.getFileName().toString();
        return n.endsWith(".vma") || n.endsWith(".vma.zst") || n.endsWith(".vma.gz");
    }

    /** A VMA archive when the name ends in {@code .vma}, {@code .vma.zst} or {@code .vma.gz}, else a directory. */
    static ArchiveTarget of(Path path) {
        return isVmaName(path) ? vma(path) : directory(path);
    }

    /**
     * A snapshot of {@code vm} in a chunk store per backup, named by the VM and the backup's instant; see
     * {@link StoreTarget}.
     */
    static StoreTarget store(org.vmbackup.store.ChunkStore store, String vm) {
        return StoreTarget.of(store, vm);
    }
}
