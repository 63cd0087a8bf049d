package org.vmbackup.core;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaHeader;
import org.vmbackup.vma.VmaReader;

/** A small VMA archive read strictly (VmaReader checks every extent and completeness) into memory. */
final class ArchiveContents {
    final VmaHeader header;
    final Map<String, byte[]> images = new LinkedHashMap<>();
    byte[] vmstate = new byte[0];

    private ArchiveContents(VmaHeader header) {
        this.header = header;
    }

    static ArchiveContents read(Path archive) throws IOException {
        try (VmaReader r = VmaReader.open(archive)) {
            ArchiveContents c = new ArchiveContents(r.header());
            Map<Integer, byte[]> byId = new LinkedHashMap<>();
            ByteArrayOutputStream vm = new ByteArrayOutputStream();
            for (VmaDevice d : r.header().devices()) {
                if (!d.isVmstate()) {
                    byte[] img = new byte[(int) d.size()];
                    byId.put(d.id(), img);
                    c.images.put(d.name(), img);
                }
            }
            r.readAll((dev, cluster, mask, blocks) -> {
                ByteBuffer b = blocks.duplicate();
                if (dev.isVmstate()) {
                    byte[] all = new byte[65536];
                    for (int j = 0; j < 16; j++) {
                        if ((mask & (1 << j)) != 0) {
                            b.get(all, j * 4096, 4096);
                        }
                    }
                    if (cluster * 65536 != vm.size()) {
                        throw new IOException("vmstate cluster " + cluster + " out of order");
                    }
                    vm.write(all);
                    return;
                }
                byte[] img = byId.get(dev.id());
                for (int j = 0; j < 16; j++) {
                    if ((mask & (1 << j)) != 0) {
                        long off = cluster * 65536 + j * 4096L;
                        byte[] blk = new byte[4096];
                        b.get(blk);
                        int n = (int) Math.max(0, Math.min(4096, img.length - off));
                        System.arraycopy(blk, 0, img, (int) off, n);
                    }
                }
            });
            c.vmstate = vm.toByteArray();
            return c;
        }
    }
}
