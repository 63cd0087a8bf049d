package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.function.Consumer;
import org.vmbackup.core.internal.InPlaceAdapter;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.SnapshotWriter;

/** An {@link ArchiveSink} writing one chunk-store snapshot: each call goes to the store's snapshot writer. */
final class StoreArchiveSink implements ArchiveSink {
    private final SnapshotWriter writer;
    private final String description;
    private final Consumer<SnapshotInfo> onCommit;

    StoreArchiveSink(SnapshotWriter writer, SnapshotId id, String store, Consumer<SnapshotInfo> onCommit) {
        this.writer = writer;
        this.description = "snapshot " + id + " in store " + store;
        this.onCommit = onCommit;
    }

    @Override
    public void write(int disk, long offset, ByteBuffer data) throws IOException {
        writer.write(disk, offset, data);
    }

    /** NBD WRITE payloads land in the store's chunk buffers where the writer has room ({@link SnapshotWriter#tryReserve}). */
    @Override
    public InPlaceWrite tryReserve(int disk, long offset, int length) {
        SnapshotWriter.InPlaceWrite w = writer.tryReserve(disk, offset, length);
        return w == null ? null : new InPlaceAdapter(w::buffers, w::commit, w::abandon);
    }

    @Override
    public void writeZeroes(int disk, long offset, long length) throws IOException {
        writer.writeZeroes(disk, offset, length);
    }

    @Override
    public WritableByteChannel vmstateChannel() throws IOException {
        return writer.vmstateChannel();
    }

    @Override
    public void commit() throws IOException {
        onCommit.accept(writer.commit());
    }

    @Override
    public void abort() {
        writer.abort();
    }

    @Override
    public String describe() {
        return description;
    }
}
