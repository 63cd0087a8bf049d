package org.vmbackup.store;

import java.io.IOException;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ChunkStore#prune}: chooses what a {@link RetentionPolicy} keeps, and removes the rest, each snapshot
 * manifest first (it disappears at once; a crash leaves only its indexes, for gc).
 */
final class Pruner {
    private static final Logger LOG = LoggerFactory.getLogger(Pruner.class);

    private Pruner() {
    }

    static PruneResult prune(StoreContext ctx, List<SnapshotId> ids, RetentionPolicy p, boolean dryRun) throws IOException {
        List<SnapshotId> newest = new ArrayList<>(ids);
        newest.sort(Comparator.comparing(SnapshotId::instant).reversed());
        Set<SnapshotId> keep = new LinkedHashSet<>();
        for (int i = 0; i < Math.min(p.keepLast(), newest.size()); i++) {
            keep.add(newest.get(i));
        }
        keepPerPeriod(newest, p.keepDaily(), t -> t.toLocalDate().toString(), keep);
        keepPerPeriod(newest, p.keepWeekly(),
                t -> t.get(IsoFields.WEEK_BASED_YEAR) + "-W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR), keep);
        keepPerPeriod(newest, p.keepMonthly(), t -> t.getYear() + "-" + t.getMonthValue(), keep);
        List<SnapshotId> kept = new ArrayList<>();
        List<SnapshotId> removed = new ArrayList<>();
        for (SnapshotId id : newest) {
            (keep.contains(id) ? kept : removed).add(id);
        }
        if (!dryRun) {
            for (SnapshotId id : removed) {
                ctx.backend.delete(Manifest.objectName(id));
                for (String name : ctx.backend.list(Manifest.dir(id))) {
                    ctx.backend.delete(name);
                }
                LOG.info("pruned snapshot {}", id);
            }
        }
        return new PruneResult(kept, removed, dryRun);
    }

    /** Keeps the newest snapshot of each of the newest {@code count} periods that have snapshots. */
    private static void keepPerPeriod(List<SnapshotId> newest, int count, Function<ZonedDateTime, String> period,
            Set<SnapshotId> keep) {
        Set<String> seen = new HashSet<>();
        for (SnapshotId id : newest) {
            if (seen.size() >= count) {
                return;
            }
            if (seen.add(period.apply(id.instant().atZone(ZoneOffset.UTC)))) {
                keep.add(id);
            }
        }
    }
}
