package org.vmbackup.store;

import java.util.List;
import java.util.Objects;

/**
 * What {@link ChunkStore#verify} found.
 *
 * @param snapshots the snapshots checked
 * @param chunksChecked distinct chunks re-read and re-hashed
 * @param bytesChecked their plaintext bytes
 * @param damage each problem found, in the order found (empty when all is well)
 */
public record VerifyReport(List<SnapshotId> snapshots, long chunksChecked, long bytesChecked, List<Damage> damage) {
    /** Copies the lists. */
    public VerifyReport {
        snapshots = List.copyOf(snapshots);
        damage = List.copyOf(damage);
    }

    /** @return true when nothing is damaged */
    public boolean ok() {
        return damage.isEmpty();
    }

    /**
     * One damaged or missing object.
     *
     * @param snapshot the snapshot that needs it
     * @param object the object's name in the store (chunk, index or manifest)
     * @param problem what is wrong, in words, with where it is needed (disk, offset)
     */
    public record Damage(SnapshotId snapshot, String object, String problem) {
        /** Checks the invariants. */
        public Damage {
            Objects.requireNonNull(snapshot, "snapshot");
            Objects.requireNonNull(object, "object");
            Objects.requireNonNull(problem, "problem");
        }

        /** @return one line: snapshot, object and problem */
        @Override
        public String toString() {
            return snapshot + ": " + object + ": " + problem;
        }
    }
}
