package org.vmbackup.core.vma;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ArchiveVisitor;
import org.vmbackup.core.ConfigBlob;
import org.vmbackup.vma.VmaClusterVisitor;
import org.vmbackup.vma.VmaConfig;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaFormatException;
import org.vmbackup.vma.VmaHeader;

/**
 * What the VMA sources share: a VMA header as an {@link ArchiveLayout} (the {@code vmstate} device becomes the VM
 * state, the other devices the disks in dev_id order) and VMA clusters as {@link ArchiveVisitor} runs.
 */
final class VmaSourceLayout {
    private static final int BLOCK = 4096;
    private static final int CLUSTER = 65536;
    private static final ByteBuffer ZERO_BLOCK = ByteBuffer.allocate(BLOCK).asReadOnlyBuffer();

    private final String archive;
    private final ArchiveLayout layout;
    /** Per dev_id the disk number, or -1 (the vmstate device, unused ids). */
    private final int[] diskByDevId = new int[256];
    private final List<VmaDevice> disks = new ArrayList<>();
    private final VmaDevice vmstate;

    VmaSourceLayout(String archive, VmaHeader h) throws IOException {
        this.archive = archive;
        Arrays.fill(diskByDevId, -1);
        List<ArchiveDisk> ds = new ArrayList<>();
        VmaDevice vm = null;
        try {
            for (VmaDevice d : h.devices()) {
                if (d.isVmstate()) {
                    vm = d;
                    continue;
                }
                diskByDevId[d.id()] = ds.size();
                ds.add(new ArchiveDisk(d.name(), d.size()));
                disks.add(d);
            }
            List<ConfigBlob> cs = new ArrayList<>();
            for (VmaConfig c : h.configs()) {
                cs.add(new ConfigBlob(c.name(), c.data()));
            }
            this.layout = new ArchiveLayout(h.uuid(), h.ctime(), ds, vm == null ? 0 : vm.size(), cs);
        } catch (IllegalArgumentException e) {
            throw new IOException("archive " + archive + ": " + e.getMessage(), e);
        }
        this.vmstate = vm;
    }

    ArchiveLayout layout() {
        return layout;
    }

    /** The VMA device of disk number {@code index}. */
    VmaDevice device(int index) {
        return disks.get(index);
    }

    /** The {@code vmstate} device, or null. */
    VmaDevice vmstate() {
        return vmstate;
    }

    /** A VMA error as the one-line I/O error of this archive. */
    IOException error(VmaFormatException e) {
        return new IOException("archive " + archive + ": " + e.getMessage(), e);
    }

    /**
     * A cluster visitor passing each cluster on as runs of stored blocks and zeros, clipped to the disk end; VM
     * state clusters are passed on whole, their zero blocks filled in (one 64 KiB scratch buffer).
     */
    VmaClusterVisitor runs(ArchiveVisitor visitor) {
        ByteBuffer scratch = ByteBuffer.allocate(CLUSTER);
        return (dev, cluster, mask, blocks) -> {
            try {
                pass(visitor, scratch, dev, cluster, mask, blocks);
            } catch (IOException e) {
                throw new ConsumerFailure(e); // told apart from the reader's own I/O errors in read()
            }
        };
    }

    private void pass(ArchiveVisitor visitor, ByteBuffer scratch, VmaDevice dev, long cluster, int mask,
            ByteBuffer blocks) throws IOException {
        long base = cluster * CLUSTER;
        if (dev.isVmstate()) {
            scratch.clear();
            int src = 0;
            for (int j = 0; j < 16; j++) {
                if ((mask & 1 << j) != 0) {
                    scratch.put(j * BLOCK, blocks, src, BLOCK);
                    src += BLOCK;
                } else {
                    scratch.put(j * BLOCK, ZERO_BLOCK, 0, BLOCK);
                }
            }
            visitor.vmstate(base, scratch.asReadOnlyBuffer());
            return;
        }
        int disk = diskByDevId[dev.id()];
        int src = 0;
        for (int j = 0; j < 16; ) {
            boolean stored = (mask & 1 << j) != 0;
            int end = j + 1;
            while (end < 16 && ((mask & 1 << end) != 0) == stored) {
                end++;
            }
            long at = base + (long) j * BLOCK;
            long len = Math.min((long) (end - j) * BLOCK, dev.size() - at);
            if (len > 0 && stored) {
                visitor.data(disk, at, blocks.slice(src, (int) len).asReadOnlyBuffer());
            } else if (len > 0) {
                visitor.zero(disk, at, len);
            }
            if (stored) {
                src += (end - j) * BLOCK; // blocks past the disk end (old archives) are consumed and dropped
            }
            j = end;
        }
    }

    /**
     * Runs {@code body}, turning the VMA reader's unchecked errors into this archive's I/O errors; the consumer's
     * own exceptions come out unchanged.
     */
    void read(ReadBody body) throws IOException {
        try {
            body.run();
        } catch (ConsumerFailure e) {
            throw e.getCause();
        } catch (VmaFormatException e) {
            throw error(e);
        } catch (UncheckedIOException e) {
            throw new IOException("archive " + archive + ": " + e.getMessage(), e.getCause());
        }
    }

    /** An exception of the visitor on its way through the VMA reader. */
    private static final class ConsumerFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ConsumerFailure(IOException cause) {
            super(cause);
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }

    /** A read that may throw the VMA reader's unchecked errors. */
    interface ReadBody {
        void run() throws IOException;
    }
}
