package org.vmbackup.cli;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.vmbackup.store.ChunkStore;

/**
 * A chunk store being opened on a thread of its own, so that {@code backup --store} connects to QEMU meanwhile:
 * both are mostly class loading and first-use initialisation (the store's codec and workers; Netty and Jackson for
 * QMP), which the second core does in parallel. Connecting changes nothing in QEMU, so the store is still checked
 * before QEMU is touched.
 */
final class StoreOpening implements AutoCloseable {
    private final CompletableFuture<ChunkStore> store = new CompletableFuture<>();
    private boolean taken;

    private StoreOpening(String location, Path key) {
        Thread t = new Thread(() -> {
            try {
                store.complete(StoreLocation.open(location, key));
            } catch (Throwable e) {
                store.completeExceptionally(e);
            }
        }, "vmabackup-store-open");
        t.setDaemon(true);
        t.start();
    }

    /** Starts opening the store at {@code location} with the key in {@code key} (null: none). */
    static StoreOpening start(String location, Path key) {
        return new StoreOpening(location, key);
    }

    /**
     * The open store, once it is; the caller owns it from now on.
     *
     * @throws Exception what opening it threw, as it was thrown
     */
    ChunkStore take() throws Exception {
        try {
            ChunkStore s = store.get();
            taken = true;
            return s;
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Exception ex) {
                throw ex;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    /** Closes the store unless {@link #take} handed it out; waits for the opening to end. */
    @Override
    public void close() throws Exception {
        if (taken) {
            return;
        }
        try {
            store.get().close();
        } catch (ExecutionException e) {
            // it did not open: nothing to close
        }
    }
}
