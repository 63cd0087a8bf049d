package org.vmbackup.core.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.Supplier;
import org.vmbackup.core.ArchiveSink;

/**
 * A writer's own in-place reservation (the VMA writer's, a store snapshot writer's) as an archive sink's
 * {@link ArchiveSink.InPlaceWrite}: the calls pass through, and a commit's {@link UncheckedIOException} comes out as
 * the {@link IOException} it carries, as the sink's other calls report it.
 */
public record InPlaceAdapter(Supplier<List<ByteBuffer>> buffersOf, Commit commitOf, Runnable abandonOf)
        implements ArchiveSink.InPlaceWrite {
    /** The writer's commit. */
    public interface Commit {
        void commit() throws IOException;
    }

    @Override
    public List<ByteBuffer> buffers() {
        return buffersOf.get();
    }

    @Override
    public void commit() throws IOException {
        try {
            commitOf.commit();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public void abandon() {
        abandonOf.run();
    }
}
