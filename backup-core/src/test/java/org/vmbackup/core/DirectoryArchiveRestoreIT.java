package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

/** Every restore path ({@link RestorePathsFixture}) from a directory archive. */
class DirectoryArchiveRestoreIT extends RestorePathsFixture {
    private Path archive;

    @Override
    protected ArchiveTarget target() {
        archive = tmp.resolve("vm-archive"); // no .vma name: a directory archive
        return ArchiveTarget.of(archive);
    }

    @Override
    protected ArchiveSource open() throws Exception {
        assertThat(archive.resolve(DirectoryArchiveSink.MANIFEST)).isRegularFile();
        return ArchiveSource.open(archive);
    }
}
