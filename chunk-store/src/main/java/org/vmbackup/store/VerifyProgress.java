package org.vmbackup.store;

import java.util.Objects;

/**
 * How far {@link ChunkStore#verify(java.util.Collection, java.util.function.Consumer)} has got: reported once per
 * snapshot, when every chunk it needs has been checked (chunks it shares with snapshots before it were checked
 * with those, and count there).
 *
 * @param snapshot the snapshot just finished
 * @param done how many snapshots are finished, this one included
 * @param total how many snapshots the verify checks
 * @param chunksChecked distinct chunks checked so far
 * @param bytesChecked their plaintext bytes
 * @param damaged damaged or missing objects found so far
 */
public record VerifyProgress(SnapshotId snapshot, int done, int total, long chunksChecked, long bytesChecked,
        long damaged) {
    /** Checks the counts. */
    public VerifyProgress {
        Objects.requireNonNull(snapshot, "snapshot");
        if (done < 1 || done > total || chunksChecked < 0 || bytesChecked < 0 || damaged < 0) {
            throw new IllegalArgumentException("bad verify progress " + done + "/" + total);
        }
    }
}
