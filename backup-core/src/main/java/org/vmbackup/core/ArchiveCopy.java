package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.Objects;

/**
 * Copies an archive from one format into another: everything an {@link ArchiveSource} stores (disks, VM state,
 * config blobs) into a new archive of an {@link ArchiveTarget}, in one pass in the source's order, with memory
 * bounded by the two formats' buffers. The new archive appears under its final name only when the whole source was
 * read and checked; on any failure it is aborted and nothing is left. This is how a chunk-store snapshot becomes a
 * VMA archive ({@code store export}) and a VMA archive becomes a snapshot ({@code store import}).
 */
public final class ArchiveCopy {
    private ArchiveCopy() {
    }

    /**
     * Copies {@code from} into a new archive of {@code to}. The source is read once; it is not closed.
     *
     * @return the new archive's description ({@link ArchiveSink#describe()})
     * @throws IOException naming the source or the target and what went wrong; nothing is left under the target's
     *     final name then
     */
    public static String copy(ArchiveSource from, ArchiveTarget to) throws IOException {
        return copy(from, to, RestoreProgressListener.NONE);
    }

    /**
     * {@link #copy(ArchiveSource, ArchiveTarget)}, reporting how far each disk's copy is to {@code progress} (at
     * most every 100 ms, and once at the end with every disk finished), on the calling thread.
     *
     * @return the new archive's description ({@link ArchiveSink#describe()})
     * @throws IOException naming the source or the target and what went wrong; nothing is left under the target's
     *     final name then
     */
    public static String copy(ArchiveSource from, ArchiveTarget to, RestoreProgressListener progress)
            throws IOException {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(progress, "progress");
        ArchiveLayout layout = from.layout();
        ArchiveSink sink = to.open(layout);
        boolean done = false;
        try {
            Copier copier = new Copier(sink, new CopyProgress(layout, progress));
            from.read(copier);
            copier.closeVmstate();
            sink.commit();
            copier.progress.finish();
            done = true;
            return sink.describe();
        } finally {
            if (!done) {
                sink.abort();
            }
        }
    }

    /** Passes each run of the source on to the sink; the VM state goes through one channel opened at its start. */
    private static final class Copier implements ArchiveVisitor {
        private final ArchiveSink sink;
        private final CopyProgress progress;
        private WritableByteChannel vmstate;

        Copier(ArchiveSink sink, CopyProgress progress) {
            this.sink = sink;
            this.progress = progress;
        }

        @Override
        public void data(int disk, long offset, ByteBuffer data) throws IOException {
            int n = data.remaining();
            sink.write(disk, offset, data);
            progress.data(disk, n);
        }

        @Override
        public void zero(int disk, long offset, long length) throws IOException {
            sink.writeZeroes(disk, offset, length);
            progress.zero(disk, length);
        }

        @Override
        public void vmstate(long offset, ByteBuffer data) throws IOException {
            if (vmstate == null) {
                vmstate = sink.vmstateChannel();
            }
            int n = data.remaining();
            while (data.hasRemaining()) {
                vmstate.write(data);
            }
            progress.vmstate(n);
        }

        void closeVmstate() throws IOException {
            if (vmstate != null) {
                vmstate.close();
            }
        }
    }
}
