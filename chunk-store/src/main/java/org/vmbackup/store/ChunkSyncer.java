package org.vmbackup.store;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Makes one snapshot's chunks durable behind its writers (FORMAT.md, "Durability"): chunk names collect into
 * batches that two threads of its own sync, so neither the NBD receive nor the encoding workers wait for the
 * disk, and {@link #finish} syncs the rest before the caller publishes the indexes and the manifest. Memory is
 * bounded: at most {@link #MAX_QUEUED} full batches wait; a writer adding beyond that waits for the disk.
 */
final class ChunkSyncer implements AutoCloseable {
    static final int BATCH = 256;
    static final int MAX_QUEUED = 4;
    static final int SYNC_THREADS = 2;
    private static final long FINISH_TIMEOUT_MINUTES = 30;

    private final StoreBackend backend;
    private final ExecutorService thread;
    private final Semaphore room = new Semaphore(MAX_QUEUED);
    private final List<Future<?>> pending = new ArrayList<>();
    private List<String> batch = new ArrayList<>(BATCH);
    private final AtomicLong synced = new AtomicLong();
    /** The first batch's failure: its future leaves {@link #pending} once done, so finish cannot rely on it. */
    private final java.util.concurrent.atomic.AtomicReference<Exception> failure = new java.util.concurrent.atomic.AtomicReference<>();
    /**
     * System.nanoTime() of the last chunk stored or found present (reused), for {@link ReuseCheck}; MIN_VALUE: none.
     * Stored anew counts too: a gc DELETE carried out twice (a proxy's resend) can take a chunk stored between the two.
     */
    private final AtomicLong lastReuse = new AtomicLong(Long.MIN_VALUE);

    ChunkSyncer(StoreBackend backend, String snapshot) {
        this.backend = backend;
        // two batches flush at once: fdatasync waits for the disk, not the CPU, and two in flight let the file
        // system merge journal commits (1700 chunk files: 0.46 s with one thread, 0.22 s with four, BENCHMARKS.md)
        AtomicInteger n = new AtomicInteger();
        this.thread = Executors.newFixedThreadPool(SYNC_THREADS, r -> {
            Thread t = new Thread(r, "store-sync-" + n.incrementAndGet() + " " + snapshot);
            t.setDaemon(true);
            return t;
        });
    }

    /** Adds a chunk this snapshot references (stored, or found present and touched: reused) to the next batch. */
    void add(String name) throws IOException {
        long now = System.nanoTime();
        lastReuse.accumulateAndGet(now, (a, b) -> a == Long.MIN_VALUE || b - a > 0 ? b : a);
        List<String> full;
        synchronized (this) {
            batch.add(name);
            if (batch.size() < BATCH) {
                return;
            }
            full = batch;
            batch = new ArrayList<>(BATCH);
        }
        try {
            room.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for chunks to reach the disk");
        }
        submit(full);
    }

    /** The caller holds a permit of {@link #room} (taken holding no lock: a batch running needs none to end). */
    private synchronized void submit(List<String> names) {
        pending.removeIf(Future::isDone);
        pending.add(thread.submit(() -> {
            try {
                backend.sync(names);
                synced.addAndGet(names.size());
                return null;
            } catch (IOException | RuntimeException e) {
                failure.compareAndSet(null, e);
                throw e;
            } finally {
                room.release();
            }
        }));
    }

    /**
     * Syncs what is left and waits for every batch.
     *
     * @return the number of chunk names synced
     * @throws IOException the first batch's failure
     */
    long finish() throws IOException {
        List<String> rest;
        synchronized (this) {
            rest = batch;
            batch = new ArrayList<>();
        }
        // the rest goes to both threads: the commit waits for it, and concurrent fdatasyncs share journal commits
        // (an incremental backup's 163 chunks: one batch on one thread took ~100 ms of its ~1 s)
        int per = (rest.size() + SYNC_THREADS - 1) / SYNC_THREADS;
        for (int from = 0; from < rest.size(); from += per) {
            room.acquireUninterruptibly();
            submit(rest.subList(from, Math.min(rest.size(), from + per)));
        }
        List<Future<?>> all;
        synchronized (this) {
            all = new ArrayList<>(pending);
        }
        for (Future<?> f : all) {
            try {
                f.get(FINISH_TIMEOUT_MINUTES, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while syncing chunks");
            } catch (TimeoutException e) {
                throw new StoreException("chunks did not reach the disk within " + FINISH_TIMEOUT_MINUTES + " minutes");
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                throw c instanceof IOException io ? io : new StoreException("cannot sync chunks: " + c.getMessage(), c);
            }
        }
        Exception f = failure.get();
        if (f != null) {
            // a batch that failed before later ones were submitted (its future was dropped from pending then)
            throw f instanceof IOException io ? io : new StoreException("cannot sync chunks: " + f.getMessage(), f);
        }
        return synced.get();
    }

    /** System.nanoTime() of the last chunk {@link #add} saw (stored or reused), or empty when there was none. */
    OptionalLong lastReuse() {
        long t = lastReuse.get();
        return t == Long.MIN_VALUE ? OptionalLong.empty() : OptionalLong.of(t);
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
