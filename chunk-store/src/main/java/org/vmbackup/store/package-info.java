/**
 * A deduplicating chunk store of VM snapshots. Open or create one with {@link org.vmbackup.store.ChunkStore},
 * write a snapshot through a {@link org.vmbackup.store.SnapshotWriter}, read it back through a
 * {@link org.vmbackup.store.SnapshotReader}. Storage goes through the small {@link org.vmbackup.store.StoreBackend}
 * interface ({@link org.vmbackup.store.LocalBackend} for a directory). The byte layout is in the module's
 * {@code FORMAT.md}.
 */
package org.vmbackup.store;
