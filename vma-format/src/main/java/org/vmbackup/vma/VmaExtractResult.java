package org.vmbackup.vma;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link VmaExtractor} wrote.
 *
 * @param files the files written (configs, disk images, vmstate), in the order written
 * @param bytesRead archive bytes read (decompressed)
 * @param deviceBytes total bytes of the extracted devices
 * @param sparseBytes bytes of the extracted devices that were zero and not written
 */
public record VmaExtractResult(List<Path> files, long bytesRead, long deviceBytes, long sparseBytes) {
    /** Copies the list. */
    public VmaExtractResult {
        files = List.copyOf(files);
    }
}
