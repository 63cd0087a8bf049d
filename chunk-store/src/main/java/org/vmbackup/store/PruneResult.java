package org.vmbackup.store;

import java.util.List;

/**
 * What {@link ChunkStore#prune} kept and removed (or would remove, in a dry run), newest first.
 *
 * @param kept the snapshots kept
 * @param removed the snapshots removed
 * @param dryRun true when nothing was removed
 */
public record PruneResult(List<SnapshotId> kept, List<SnapshotId> removed, boolean dryRun) {
    /** Copies the lists. */
    public PruneResult {
        kept = List.copyOf(kept);
        removed = List.copyOf(removed);
    }
}
