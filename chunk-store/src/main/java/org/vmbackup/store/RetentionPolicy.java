package org.vmbackup.store;

/**
 * Which snapshots of a VM {@link ChunkStore#prune} keeps: the newest {@code keepLast}, plus the newest snapshot
 * of each of the newest {@code keepDaily} days, {@code keepWeekly} ISO weeks and {@code keepMonthly} months (UTC)
 * that have snapshots. Rules overlap (one snapshot may satisfy several).
 *
 * @param keepLast how many newest snapshots to keep
 * @param keepDaily how many days to keep one snapshot of
 * @param keepWeekly how many weeks to keep one snapshot of
 * @param keepMonthly how many months to keep one snapshot of
 */
public record RetentionPolicy(int keepLast, int keepDaily, int keepWeekly, int keepMonthly) {
    /** Checks the invariants: no negative counts, and something is kept. */
    public RetentionPolicy {
        if (keepLast < 0 || keepDaily < 0 || keepWeekly < 0 || keepMonthly < 0) {
            throw new IllegalArgumentException("retention counts must not be negative");
        }
        if (keepLast + keepDaily + keepWeekly + keepMonthly == 0) {
            throw new IllegalArgumentException("a retention policy must keep at least one snapshot");
        }
    }
}
