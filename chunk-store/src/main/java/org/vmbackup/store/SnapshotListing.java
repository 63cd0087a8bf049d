package org.vmbackup.store;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The committed snapshots of a store as {@link ChunkStore#listing} found them.
 *
 * @param snapshots those whose manifest reads and checks, sorted by VM then instant
 * @param damaged those whose manifest is damaged, each with what is wrong (one line)
 */
public record SnapshotListing(List<SnapshotInfo> snapshots, Map<SnapshotId, String> damaged) {
    /** Copies the collections. */
    public SnapshotListing {
        snapshots = List.copyOf(snapshots);
        damaged = Collections.unmodifiableMap(new LinkedHashMap<>(damaged));
    }
}
