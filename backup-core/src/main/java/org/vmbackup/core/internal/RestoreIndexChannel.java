package org.vmbackup.core.internal;

import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaIndex;

/** One device of an indexed archive as a sequential channel (for feeding the vmstate stream to QEMU). */
public final class RestoreIndexChannel implements ReadableByteChannel {
    private final VmaIndex index;
    private final VmaDevice device;
    private long position;
    private boolean open = true;

    /** Reads {@code device} of {@code index} from its start to its size. */
    public RestoreIndexChannel(VmaIndex index, VmaDevice device) {
        this.index = index;
        this.device = device;
    }

    @Override
    public int read(ByteBuffer dst) {
        if (position >= device.size()) {
            return -1;
        }
        int n = index.read(device, position, dst);
        position += n;
        return n;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false; // the index belongs to its owner
    }
}
