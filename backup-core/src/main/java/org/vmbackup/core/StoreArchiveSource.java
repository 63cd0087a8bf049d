package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.vmbackup.core.internal.CheckedDisk;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.DiskInfo;
import org.vmbackup.store.Extent;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.SnapshotReader;

/**
 * One chunk-store snapshot as an {@link ArchiveSource}: random access with block status (an all-zero chunk is a
 * hole), the VM state as a stream, and {@link #read} as each disk's data chunks in offset order (decoded ahead on
 * the store's threads), holes between them, then the VM state. Every chunk is checked against its digest by the
 * store before a byte of it is passed on.
 */
final class StoreArchiveSource implements ArchiveSource {
    private static final int VMSTATE_BUFFER = 1 << 20;

    private final SnapshotReader reader;
    private final ArchiveLayout layout;
    private final String description;
    private volatile long bytesRead;

    private StoreArchiveSource(SnapshotReader reader, ArchiveLayout layout, String description) {
        this.reader = reader;
        this.layout = layout;
        this.description = description;
    }

    static StoreArchiveSource open(ChunkStore store, SnapshotId id) throws IOException {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(id, "id");
        SnapshotReader reader = store.open(id);
        try {
            SnapshotInfo info = reader.info();
            List<ArchiveDisk> disks = new ArrayList<>();
            for (DiskInfo d : info.disks()) {
                disks.add(new ArchiveDisk(d.name(), d.size()));
            }
            List<ConfigBlob> configs = new ArrayList<>();
            for (String name : info.configs().keySet()) {
                configs.add(new ConfigBlob(name, reader.config(name)));
            }
            // The store names snapshots, not archives: a stable UUID from the id keeps exports of one snapshot equal.
            UUID uuid = UUID.nameUUIDFromBytes(("vmbackup-store:" + id).getBytes(StandardCharsets.UTF_8));
            long vmstate = info.vmstateSize().orElse(0);
            ArchiveLayout layout = new ArchiveLayout(uuid, id.instant(), disks, vmstate, configs);
            return new StoreArchiveSource(reader, layout, "snapshot " + id + " in store " + store.describe());
        } catch (IOException | RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    @Override
    public ArchiveLayout layout() {
        return layout;
    }

    @Override
    public boolean randomAccess() {
        return true;
    }

    @Override
    public void read(ArchiveVisitor visitor) throws IOException {
        for (int disk = 0; disk < layout.disks().size(); disk++) {
            readDisk(disk, visitor);
        }
        if (layout.hasVmstate()) {
            readVmstate(visitor);
        }
    }

    private void readDisk(int disk, ArchiveVisitor visitor) throws IOException {
        long size = layout.disk(disk).size();
        long[] next = {0};
        int d = disk;
        reader.visitData(disk, (offset, data) -> {
            if (offset > next[0]) {
                visitor.zero(d, next[0], offset - next[0]);
            }
            int n = data.remaining();
            visitor.data(d, offset, data);
            next[0] = offset + n;
            bytesRead += n;
        });
        if (next[0] < size) {
            visitor.zero(disk, next[0], size - next[0]);
        }
    }

    private void readVmstate(ArchiveVisitor visitor) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(VMSTATE_BUFFER);
        long offset = 0;
        try (ReadableByteChannel ch = reader.vmstate()) {
            while (ch.read(buf) >= 0) {
                buf.flip();
                if (buf.hasRemaining()) {
                    int n = buf.remaining();
                    visitor.vmstate(offset, buf.asReadOnlyBuffer());
                    offset += n;
                    bytesRead += n;
                }
                buf.clear();
            }
        }
    }

    @Override
    public RandomAccessDisk disk(int index) {
        ArchiveDisk disk = layout.disk(index);
        return new CheckedDisk(disk) {
            @Override
            protected int readInside(long offset, ByteBuffer dst) throws IOException {
                int total = 0;
                while (dst.hasRemaining()) {
                    int n = reader.read(index, offset + total, dst);
                    if (n <= 0) {
                        break;
                    }
                    total += n;
                }
                return total;
            }

            @Override
            protected BlockStatus blockStatusInside(long offset, long length) {
                Extent e = reader.blockStatus(index, offset, length);
                return new BlockStatus(e.offset(), e.length(), e.hole());
            }
        };
    }

    @Override
    public ReadableByteChannel vmstate() throws IOException {
        if (!layout.hasVmstate()) {
            throw new IOException(description + " has no VM state");
        }
        return reader.vmstate();
    }

    @Override
    public void prefetchVmstate() {
        if (layout.hasVmstate()) {
            reader.prefetchVmstate();
        }
    }

    @Override
    public long bytesRead() {
        return bytesRead;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        reader.close();
    }
}
