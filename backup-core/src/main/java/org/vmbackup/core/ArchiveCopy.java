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
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        ArchiveSink sink = to.open(from.layout());
        boolean done = false;
        try {
            Copier copier = new Copier(sink);
            from.read(copier);
            copier.closeVmstate();
            sink.commit();
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
        private WritableByteChannel vmstate;

        Copier(ArchiveSink sink) {
            this.sink = sink;
        }

        @Override
        public void data(int disk, long offset, ByteBuffer data) throws IOException {
            sink.write(disk, offset, data);
        }

        @Override
        public void zero(int disk, long offset, long length) throws IOException {
            sink.writeZeroes(disk, offset, length);
        }

        @Override
        public void vmstate(long offset, ByteBuffer data) throws IOException {
            if (vmstate == null) {
                vmstate = sink.vmstateChannel();
            }
            while (data.hasRemaining()) {
                vmstate.write(data);
            }
        }

        void closeVmstate() throws IOException {
            if (vmstate != null) {
                vmstate.close();
            }
        }
    }
}
