package org.vmbackup.store;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Touches the chunks an incremental snapshot inherits from its parent's indexes (FORMAT.md, "Writing a
 * snapshot"), on the store's workers while the backup runs instead of in {@code create}: a 16 GiB disk's parent
 * names thousands of chunks, a touch each (a system call locally, a copy request on S3), which a short incremental
 * backup otherwise waits for before QEMU sends anything. The writer's commit waits for them ({@link #await}) before
 * it publishes the manifest; a chunk found missing (a gc took it after its snapshot was pruned) fails the commit.
 */
final class ParentTouches {
    private static final long TIMEOUT_MINUTES = 30;
    static final ParentTouches NONE = new ParentTouches(List.of(), new AtomicLong(Long.MIN_VALUE), new AtomicBoolean());

    private final List<Future<Void>> tasks;
    /** System.nanoTime() when the last touch landed, for the {@link ReuseCheck}; MIN_VALUE while none has. */
    private final AtomicLong lastTouch;
    private final AtomicBoolean cancelled;

    private ParentTouches(List<Future<Void>> tasks, AtomicLong lastTouch, AtomicBoolean cancelled) {
        this.tasks = tasks;
        this.lastTouch = lastTouch;
        this.cancelled = cancelled;
    }

    /**
     * Starts touching the chunks of {@code parents} (null entries: disks copied in full), each disk's chunk list
     * cut into slices, one per worker thread the store has; the chunks the backup stores queue behind them on the
     * same workers. Each slice walks its part of the index by pages (FixedIndex): no list of the parent's chunks on
     * the heap, which would grow with the disk (a set of the distinct ones did: ~80 bytes per chunk). A run of one
     * digest is touched once; a chunk repeated elsewhere on the disk is touched again, which costs a request and
     * changes nothing (a touch only moves the time).
     */
    static ParentTouches start(StoreContext ctx, SnapshotId parent, List<DiskSpec> disks, List<FixedIndex> parents)
            throws IOException {
        AtomicLong lastTouch = new AtomicLong(Long.MIN_VALUE);
        AtomicBoolean cancelled = new AtomicBoolean();
        List<Future<Void>> tasks = new ArrayList<>();
        try {
            for (int d = 0; d < parents.size(); d++) {
                FixedIndex idx = parents.get(d);
                if (idx == null || idx.count() == 0) {
                    continue;
                }
                String disk = disks.get(d).name();
                int per = (idx.count() + ctx.threads - 1) / ctx.threads;
                for (int from = 0; from < idx.count(); from += per) {
                    int start = from;
                    int end = Math.min(idx.count(), from + per);
                    tasks.add(ctx.workers.submit(() -> {
                        byte[] previous = null;
                        boolean any = false;
                        for (int i = start; i < end && !cancelled.get(); i++) {
                            if (idx.isHole(i)) {
                                continue; // no copy of it made: most of a sparse disk
                            }
                            byte[] digest = idx.digest(i);
                            if (Arrays.equals(digest, previous)) {
                                continue;
                            }
                            previous = digest;
                            if (!ctx.backend.touch(Digests.chunkName(digest))) {
                                throw new StoreException("parent " + parent + ", disk " + disk + ": chunk "
                                        + Digests.hex(digest) + " is missing from the store (take a full copy of it)");
                            }
                            any = true;
                        }
                        if (any) {
                            long now = System.nanoTime();
                            lastTouch.accumulateAndGet(now, (a, b) -> a == Long.MIN_VALUE || b - a > 0 ? b : a);
                        }
                        return null;
                    }));
                }
            }
        } catch (RejectedExecutionException e) {
            cancelled.set(true);
            throw new StoreException("the store is closed");
        }
        return new ParentTouches(tasks, lastTouch, cancelled);
    }

    /**
     * Waits for every touch.
     *
     * @return System.nanoTime() of the last touch, empty when there was nothing to touch
     * @throws IOException the first failed slice's failure (a missing chunk)
     */
    OptionalLong await() throws IOException {
        try {
            for (Future<Void> f : tasks) {
                f.get(TIMEOUT_MINUTES, TimeUnit.MINUTES);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while touching the parent's chunks");
        } catch (TimeoutException e) {
            throw new StoreException("the parent's chunks could not be touched within " + TIMEOUT_MINUTES + " minutes");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof IOException io ? io : new StoreException("cannot touch the parent's chunks: " + c.getMessage(), c);
        }
        long t = lastTouch.get();
        return t == Long.MIN_VALUE ? OptionalLong.empty() : OptionalLong.of(t);
    }

    /** Stops the slices after their current touch (the snapshot is abandoned); does not wait. */
    void cancel() {
        cancelled.set(true);
    }
}
