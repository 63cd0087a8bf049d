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

    /** Reads {@code device} of {@code index} from its start to the end of what is stored. */
    public RestoreIndexChannel(VmaIndex index, VmaDevice device) {
        this.index = index;
        this.device = device;
    }

    @Override
    public int read(ByteBuffer dst) {
        // the vmstate's stored length may differ from the header's size (an estimate): read what is stored
        if (position >= index.storedLength(device)) {
            return -1;
        }
        int n = index.read(device, position, dst);
        if (n == 0 && dst.hasRemaining()) {
            return -1; // never a 0-byte read forever: a caller looping on read() would spin
        }
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
