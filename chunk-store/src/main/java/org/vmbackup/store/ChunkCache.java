package org.vmbackup.store;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A bounded LRU cache of decoded, checked chunks shared by a reader's threads; a chunk being fetched is fetched
 * once however many threads want it. Fetches run on the store's workers (also for read-ahead).
 */
final class ChunkCache {
    private final StoreContext ctx;
    private final int capacity;
    private final Map<String, CompletableFuture<byte[]>> entries;

    ChunkCache(StoreContext ctx, int capacity) {
        this.ctx = ctx;
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, CompletableFuture<byte[]>> e) {
                return size() > ChunkCache.this.capacity;
            }
        };
    }

    /** Starts fetching a chunk unless cached or under way. */
    CompletableFuture<byte[]> fetch(byte[] digest, String place) {
        String key = Digests.hex(digest);
        synchronized (entries) {
            CompletableFuture<byte[]> f = entries.get(key);
            if (f != null && !f.isCompletedExceptionally()) {
                return f;
            }
            CompletableFuture<byte[]> nf = new CompletableFuture<>();
            entries.put(key, nf);
            try {
                ctx.workers.execute(() -> {
                    try {
                        nf.complete(ctx.readChunk(digest, place));
                    } catch (IOException e) {
                        nf.completeExceptionally(e);
                    } catch (RuntimeException e) {
                        nf.completeExceptionally(new StoreException("chunk " + key + " (" + place + ") cannot be read: "
                                + e.getMessage(), e));
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                nf.completeExceptionally(new StoreException("the store is closed"));
            }
            return nf;
        }
    }

    /** The chunk's checked plaintext, waiting for its fetch. */
    byte[] get(byte[] digest, String place) throws IOException {
        return await(fetch(digest, place));
    }

    static byte[] await(CompletableFuture<byte[]> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading a chunk");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new StoreException("reading a chunk failed: " + e.getCause().getMessage(), e.getCause());
        }
    }

    void clear() {
        synchronized (entries) {
            entries.clear();
        }
    }
}
