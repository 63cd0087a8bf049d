package org.vmbackup.core;

import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.StoreKey;
import org.vmbackup.store.StoreOptions;

/**
 * Every restore path ({@link RestorePathsFixture}) from a snapshot in an encrypted chunk store: each restore reads
 * through the store's digest checks and decryption.
 */
class StoreRestoreIT extends RestorePathsFixture {
    private ChunkStore store;
    private StoreTarget target;

    @Override
    protected ArchiveTarget target() throws Exception {
        StoreKey key = StoreKey.create(tmp.resolve("store.key"));
        store = ChunkStore.init(tmp.resolve("store"), StoreOptions.defaults().withKey(key));
        target = ArchiveTarget.store(store, "restore-it");
        return target;
    }

    @Override
    protected ArchiveSource open() throws Exception {
        return ArchiveSource.snapshot(store, target.committed().orElseThrow().id());
    }

    @Override
    protected void release() throws Exception {
        store.close();
    }
}
