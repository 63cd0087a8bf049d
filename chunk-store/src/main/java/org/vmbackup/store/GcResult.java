package org.vmbackup.store;

/**
 * What {@link ChunkStore#gc} did.
 *
 * @param chunksInUse chunks referenced by a snapshot (kept)
 * @param chunksRemoved unreferenced chunks deleted
 * @param bytesRemoved their stored size
 * @param chunksSpared unreferenced chunks kept because a running backup may use them (touched too recently)
 * @param leftoversRemoved other objects deleted: indexes of pruned or never-committed snapshots, stale markers,
 *     temporary files of writers killed mid-write (local directory)
 */
public record GcResult(long chunksInUse, long chunksRemoved, long bytesRemoved, long chunksSpared,
        long leftoversRemoved) {
}
