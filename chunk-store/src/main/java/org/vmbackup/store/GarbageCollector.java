package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ChunkStore#gc}: mark and sweep, safe while backups run (FORMAT.md, "gc"). Order matters: the writer
 * markers are read before the snapshots are listed, so a backup that commits meanwhile is either seen as a
 * running writer (its start bounds the cutoff) or as a committed snapshot (its chunks are marked).
 */
final class GarbageCollector {
    private static final Logger LOG = LoggerFactory.getLogger(GarbageCollector.class);
    private final StoreContext ctx;
    private final Duration grace;
    /** Temporaries younger than this are never removed, whatever the grace (a writer can be slow, not dead). */
    static final Duration TEMP_AGE = Duration.ofHours(1);
    /** A writer registered longer than this is worth a warning: backups take hours, not days. */
    static final Duration LONG_RUNNING = Duration.ofDays(1);
    private long leftovers;
    /** What this gc's lock holds, to tell it from another gc's when its removal failed. */
    private ByteBuffer lockContent;

    GarbageCollector(StoreContext ctx, Duration grace) {
        if (grace.isNegative()) {
            throw new IllegalArgumentException("negative gc grace " + grace);
        }
        this.ctx = ctx;
        this.grace = grace;
    }

    GcResult run(Callable<List<SnapshotId>> snapshots) throws IOException {
        lock();
        boolean ended = false;
        try {
            Instant start = Instant.now();
            Set<String> writing = new HashSet<>();
            Instant oldest = runningWriters(start, writing);
            Instant cutoff = oldest.minus(grace).minus(Markers.CLOCK_SLACK);
            // a temporary's time is its last write, and its writer may sit in fsync for a while before the rename
            Instant tempCutoff = cutoff.isBefore(start.minus(TEMP_AGE)) ? cutoff : start.minus(TEMP_AGE);
            leftovers += ctx.backend.cleanUpAfterKilledProcesses(tempCutoff);
            List<SnapshotId> ids;
            try {
                ids = snapshots.call();
            } catch (IOException e) {
                throw e;
            } catch (Exception e) {
                throw new StoreException("gc: cannot list the snapshots: " + e.getMessage(), e);
            }
            DigestSet live = mark(ids);
            long inUse = 0;
            long removed = 0;
            long bytes = 0;
            long spared = 0;
            for (String name : ctx.backend.list("chunks/")) {
                String hex = name.substring(name.lastIndexOf('/') + 1);
                if (isLive(live, hex)) {
                    inUse++;
                    continue;
                }
                long size = ctx.backend.deleteIfUntouchedSince(name, cutoff);
                if (size >= 0) {
                    removed++;
                    bytes += size;
                } else {
                    spared++;
                }
            }
            removeLeftovers(ids, writing, cutoff);
            LOG.info("gc of {}: {} chunks in use, {} removed ({} bytes), {} spared, {} leftovers removed", ctx.where(),
                    inUse, removed, bytes, spared, leftovers);
            ended = true;
            return new GcResult(inUse, removed, bytes, spared, leftovers);
        } finally {
            if (!ended) {
                holdLock();
            }
            unlock();
        }
    }

    /**
     * Removes this gc's lock with one DELETE. Resending one whose answer was lost could remove the lock another gc
     * took once the first had landed; so a failed one is followed, once it can no longer land, by a look at the lock:
     * only this gc's own lock is deleted again.
     */
    private void unlock() {
        try {
            // a failed delete the server may still carry out must land while the lock shows the gc running
            ctx.backend.awaitDeletes();
            try {
                ctx.backend.deleteOnce(Markers.GC_LOCK);
            } catch (IOException e) {
                LOG.debug("gc: removing {} failed ({}); looking again once it can no longer land", Markers.GC_LOCK,
                        e.getMessage());
                ctx.backend.awaitDeletes();
                if (ctx.backend.get(Markers.GC_LOCK).map(b -> b.equals(lockContent)).orElse(false)) {
                    ctx.backend.deleteOnce(Markers.GC_LOCK);
                }
            }
        } catch (IOException e) {
            LOG.warn("gc: cannot remove {}: {}", Markers.GC_LOCK, e.getMessage());
        }
    }

    /**
     * A gc that failed may have left a delete in flight that the server still carries out: it keeps its lock for
     * the backend's delete window, since writers wait for deletes only while a gc holds the lock (ReuseCheck).
     */
    private void holdLock() {
        Duration window = ctx.backend.deleteWindow();
        if (window.isZero()) {
            return;
        }
        try {
            Thread.sleep(window.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void lock() throws IOException {
        for (int attempt = 0; attempt < 2; attempt++) {
            ByteBuffer mine = Markers.content("gc", Instant.now());
            if (Markers.take(ctx.backend, Markers.GC_LOCK, mine)) {
                lockContent = mine;
                return;
            }
            Optional<Markers.Marker> other = Markers.read(ctx.backend, Markers.GC_LOCK);
            if (other.isEmpty()) {
                // gone since the put (that gc ended; another may have taken it since) or unreadable: never deleted
                // unread, it could be the lock of a gc that runs now; once more
                continue;
            }
            if (!other.get().dead()) {
                throw new StoreException("store " + ctx.where() + ": another gc is running (" + other.get().describe()
                        + "); if that process is gone, remove " + Markers.GC_LOCK + " from the store");
            }
            // the process that held it is dead (killed mid-gc): its lock is stale
            LOG.info("gc: removing the stale lock of a gc that no longer runs");
            // once: a resent DELETE could land after another gc took the lock
            ctx.backend.deleteOnce(Markers.GC_LOCK);
        }
        throw new StoreException("store " + ctx.where() + ": another gc took the lock at the same moment (or "
                + Markers.GC_LOCK + " is unreadable: if no gc runs, remove it from the store)");
    }

    /** The start of the oldest running writer (or {@code start}); removes markers of dead writers. */
    private Instant runningWriters(Instant start, Set<String> writing) throws IOException {
        Instant oldest = start;
        for (String name : ctx.backend.list(Markers.WRITERS)) {
            Optional<Markers.Marker> m = Markers.read(ctx.backend, name);
            if (m.isPresent() && m.get().dead()) {
                ctx.backend.delete(name);
                leftovers++;
                continue;
            }
            Instant since = m.map(Markers.Marker::start).orElse(null);
            if (since == null) {
                // unreadable: trust its file time, never ignore it
                since = ctx.backend.stat(name).map(ObjectStat::lastTouched).orElse(start);
            }
            m.ifPresent(x -> writing.add(x.id()));
            if (since.isBefore(oldest)) {
                oldest = since;
            }
            if (since.isBefore(start.minus(LONG_RUNNING))) {
                // a writer on another host cannot be checked from here (markers have no heartbeat yet): say what
                // its marker holds back, and how to release it if that backup is gone
                LOG.warn("gc: a backup that started {} ago ({}) is still registered as running: nothing it may use, "
                        + "touched since then, is removed; if that process is gone, remove {} from the store",
                        Duration.between(since, start).truncatedTo(java.time.temporal.ChronoUnit.MINUTES),
                        m.map(Markers.Marker::describe).orElse("unreadable marker"), name);
            }
        }
        return oldest;
    }

    /** The digests (hex) of every chunk a committed snapshot needs. A damaged manifest or index stops the gc. */
    private DigestSet mark(List<SnapshotId> ids) throws IOException {
        DigestSet live = new DigestSet();
        for (SnapshotId id : ids) {
            Manifest m;
            try {
                m = ctx.readManifest(id);
            } catch (StoreException e) {
                if (ctx.backend.stat(Manifest.objectName(id)).isEmpty()) {
                    continue; // pruned meanwhile
                }
                throw new StoreException("gc stopped, nothing deleted: " + e.getMessage(), e);
            }
            try {
                for (int d = 0; d < m.disks().size(); d++) {
                    // marked during the index's checking pass (one read of it); a damaged one throws before
                    // the sweep, so what it added only keeps more for now
                    ctx.readDiskIndex(m, d, digest -> {
                        if (!Digests.isHole(digest)) {
                            live.add(digest);
                        }
                    }).close();
                }
                List<Manifest.StreamEntry> streams = new java.util.ArrayList<>(m.configs());
                m.vmstate().ifPresent(streams::add);
                for (Manifest.StreamEntry s : streams) {
                    for (StreamIndex.Entry e : ctx.readStreamIndex(m, s, s.name()).entries()) {
                        live.add(e.digest());
                    }
                }
            } catch (StoreException e) {
                if (ctx.backend.stat(Manifest.objectName(id)).isEmpty()) {
                    continue; // pruned meanwhile
                }
                throw new StoreException("gc stopped, nothing deleted: " + e.getMessage(), e);
            }
        }
        return live;
    }

    /** A chunk object's name part is its digest in hex; anything else in chunks/ is no chunk of a snapshot. */
    private static boolean isLive(DigestSet live, String hex) {
        if (hex.length() != 2 * Digests.LENGTH) {
            return false;
        }
        try {
            return live.contains(Digests.unhex(hex));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Objects of snapshot directories without a manifest (pruned half-way, never committed), not being written. */
    private void removeLeftovers(List<SnapshotId> ids, Set<String> writing, Instant cutoff) throws IOException {
        Set<String> committed = new HashSet<>();
        ids.forEach(id -> committed.add(Manifest.dir(id)));
        for (String name : ctx.backend.list("snapshots/")) {
            String[] parts = name.split("/");
            if (parts.length != 4) {
                continue;
            }
            String dir = parts[0] + "/" + parts[1] + "/" + parts[2] + "/";
            if (committed.contains(dir) || writing.contains(parts[1] + "/" + parts[2])
                    || ctx.backend.stat(dir + Manifest.NAME).isPresent()) {
                continue;
            }
            if (ctx.backend.deleteIfUntouchedSince(name, cutoff) >= 0) {
                leftovers++;
            }
        }
    }
}
