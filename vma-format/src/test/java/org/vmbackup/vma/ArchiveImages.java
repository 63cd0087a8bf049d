package org.vmbackup.vma;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/** Test helper: decodes a whole (small) archive into in-memory device images. */
final class ArchiveImages implements VmaClusterVisitor {
    final Map<String, byte[]> images = new HashMap<>();
    VmaHeader header;

    static ArchiveImages decode(VmaReader reader) {
        ArchiveImages a = new ArchiveImages();
        a.header = reader.header();
        for (VmaDevice d : a.header.devices()) {
            a.images.put(d.name(), new byte[d.isVmstate() ? 0 : (int) d.size()]);
        }
        reader.readAll(a);
        return a;
    }

    @Override
    public void cluster(VmaDevice device, long cluster, int mask, ByteBuffer blocks) {
        byte[] img = images.get(device.name());
        if (device.isVmstate()) {
            int needed = (int) ((cluster + 1) * 65536);
            if (img.length < needed) {
                img = java.util.Arrays.copyOf(img, needed);
                images.put(device.name(), img);
            }
        }
        int src = 0;
        for (int j = 0; j < 16; j++) {
            if ((mask & (1 << j)) == 0) {
                continue;
            }
            long at = cluster * 65536 + j * 4096L;
            int len = (int) Math.max(0, Math.min(4096, img.length - at));
            if (len > 0) {
                blocks.get(src, img, (int) at, len);
            }
            src += 4096;
        }
    }
}
