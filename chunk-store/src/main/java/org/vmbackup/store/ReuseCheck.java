package org.vmbackup.store;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes the window a backend's non-atomic {@link StoreBackend#deleteIfUntouchedSince} leaves (S3: a HEAD, then a
 * DELETE): a chunk a writer reuses between a gc's check and its delete is gone although the writer touched it.
 * Before the manifest names such chunks, the writer waits until {@link StoreBackend#deleteWindow} has passed since
 * its last store or reuse (every delete that checked before a touch has landed by then) and then proves that every chunk
 * its indexes name still exists (stored anew too: a gc DELETE carried out twice, by a proxy's resend, can take a
 * chunk stored between the two). A missing one fails the snapshot: a backup is never mistaken for complete
 * (FORMAT.md, "gc on S3").
 */
final class ReuseCheck {
    private static final Logger LOG = LoggerFactory.getLogger(ReuseCheck.class);
    private static final long TIMEOUT_MINUTES = 30;

    private ReuseCheck() {
    }

    /**
     * @param lastReuse System.nanoTime() of the writer's last chunk stored or reused (incremental disks: the last
     *     touch of the parent's chunks), empty when it has none (then nothing is asked)
     */
    static void check(StoreContext ctx, SnapshotId id, OptionalLong lastReuse, List<FixedIndex> disks,
            List<StreamIndex> streams) throws IOException {
        Duration window = ctx.backend.deleteWindow();
        if (window.isZero() || lastReuse.isEmpty()) {
            return;
        }
        // a gc whose check of a chunk came before this writer's touch was running at that touch; if no gc runs
        // now, every such gc has ended, and its deletes with it (it removes its lock after its last delete)
        long waitNanos = lastReuse.getAsLong() + window.toNanos() - System.nanoTime();
        if (waitNanos > 0 && ctx.backend.stat(Markers.GC_LOCK).isPresent()) {
            LOG.debug("snapshot {}: waiting {} ms for deletes of concurrent gcs to land", id, waitNanos / 1_000_000);
            try {
                TimeUnit.NANOSECONDS.sleep(waitNanos);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting out the gc window");
            }
        }
        List<Future<Void>> tasks = new ArrayList<>();
        int slices = Math.max(1, ctx.threads);
        for (FixedIndex idx : disks) {
            int per = (idx.count() + slices - 1) / slices;
            for (int from = 0; from < idx.count(); from += per) {
                int start = from;
                int end = Math.min(idx.count(), from + per);
                tasks.add(ctx.workers.submit(() -> {
                    byte[] previous = null;
                    for (int i = start; i < end; i++) {
                        byte[] d = idx.digest(i);
                        // runs of one digest (a repeated pattern) are asked once
                        if (!Digests.isHole(d) && !Arrays.equals(d, previous)) {
                            exists(ctx, id, d);
                        }
                        previous = d;
                    }
                    return null;
                }));
            }
        }
        for (StreamIndex s : streams) {
            tasks.add(ctx.workers.submit(() -> {
                for (StreamIndex.Entry e : s.entries()) {
                    if (!Digests.isHole(e.digest())) {
                        exists(ctx, id, e.digest());
                    }
                }
                return null;
            }));
        }
        await(tasks);
    }

    private static void exists(StoreContext ctx, SnapshotId id, byte[] digest) throws IOException {
        if (ctx.backend.stat(Digests.chunkName(digest)).isEmpty()) {
            throw new StoreException("snapshot " + id + ": chunk " + Digests.hex(digest) + " it names was deleted by a"
                    + " gc that ran meanwhile; the snapshot is not published (run the backup again)");
        }
    }

    private static void await(List<Future<Void>> tasks) throws IOException {
        try {
            for (Future<Void> f : tasks) {
                f.get(TIMEOUT_MINUTES, TimeUnit.MINUTES);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while checking reused chunks");
        } catch (TimeoutException e) {
            throw new StoreException("reused chunks could not be checked within " + TIMEOUT_MINUTES + " minutes");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException io ? io : new StoreException("cannot check reused chunks: " + c.getMessage(), c);
        } finally {
            tasks.forEach(t -> t.cancel(true));
        }
    }
}
