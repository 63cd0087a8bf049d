package org.vmbackup.store;

import java.util.Objects;

/**
 * One disk of a stored snapshot.
 *
 * @param name its name
 * @param size its exact size in bytes
 * @param chunkSize the size of its chunks (the last one may be shorter)
 * @param incremental whether it was written incrementally from the parent
 * @param bytesNew the stored (compressed) bytes of chunks this snapshot added to the store for this disk
 */
public record DiskInfo(String name, long size, int chunkSize, boolean incremental, long bytesNew) {
    /** Checks the invariants. */
    public DiskInfo {
        Objects.requireNonNull(name, "name");
        if (size < 0 || chunkSize <= 0 || bytesNew < 0) {
            throw new IllegalArgumentException("disk " + name + ": bad size " + size + ", chunk size " + chunkSize
                    + " or bytes new " + bytesNew);
        }
    }
}
