package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore never replaces an image it did not write: a file that appears under an image's final name while the
 * restore runs (another restore, another program) is kept, and the restore fails saying so.
 */
class RestoreNeverOverwritesTest {
    @TempDir
    Path tmp;

    /** The archive of {@code inner}; once its read starts, someone else creates {@code appearing}. */
    private static ArchiveSource racing(ArchiveSource inner, Path appearing) {
        return new ArchiveSourceFixtures.ForwardingSource(inner) {
            @Override
            public void read(ArchiveVisitor visitor) throws IOException {
                Files.writeString(appearing, "someone else's image");
                super.read(visitor);
            }
        };
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void anImageThatAppearsDuringTheRestoreIsKept() throws Exception {
        for (RestoreFormat format : RestoreFormat.values()) {
            Path out = tmp.resolve("out-" + format);
            Path theirs = out.resolve("drive-virtio1." + format.extension());
            Files.createDirectories(out);
            ArchiveSource src = racing(ArchiveSource.open(RestoreVectors.dir().resolve("two-disks.vma")), theirs);
            assertThatThrownBy(() -> RestoreSession.builder().archive(src).imageDirectory(out).format(format)
                    .build().start().get(1, TimeUnit.MINUTES)).hasMessageContaining(theirs.toString());
            assertThat(theirs).as(format + ": the other file is kept").hasContent("someone else's image");
            try (var files = Files.list(out)) {
                assertThat(files.toList()).as(format + ": nothing of the failed restore is left")
                        .containsExactly(theirs);
            }
        }
    }
}
