package org.vmbackup.core;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.vmbackup.core.internal.BitmapNames;
import org.vmbackup.core.internal.QemuCalls;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpJobStatus;
import org.vmbackup.qmp.command.DirtyBitmapCommands.Remove;
import org.vmbackup.qmp.command.QueryCommands.BlockInfo;
import org.vmbackup.qmp.command.QueryCommands.DirtyBitmapInfo;
import org.vmbackup.qmp.command.QueryCommands.JobInfo;
import org.vmbackup.qmp.command.QueryCommands.QueryBlock;
import org.vmbackup.qmp.command.QueryCommands.QueryJobs;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;

/**
 * The dirty bitmaps that {@code backup --store} leaves in QEMU for the next incremental backup
 * ({@code vmbackup-<store id, 8 chars>-<vm>-<snapshot instant>}): listing them and removing them on request.
 * Bitmaps of other tools (libvirt checkpoints, Proxmox's {@code pbs-incremental-dirty-bitmap}, a user's own) are
 * never listed nor touched: only names that parse exactly as ours are.
 *
 * <p>A backup removes the older bitmaps itself once its snapshot is committed, so normally one bitmap per disk
 * remains. Removal by hand is for a VM that leaves the backup schedule (a bitmap costs QEMU memory and, being
 * persistent on qcow2, space in the image, and every guest write updates it), and for the bitmaps whose snapshots
 * were all pruned: the store cannot talk to QEMU, so without a request they stay until the VM's next backup (which
 * finds no snapshot for them, copies in full and then removes them).
 *
 * <pre>{@code
 * try (QmpClient q = QmpClient.connect(socket).get(); ChunkStore s = ChunkStore.open(dir, Optional.empty())) {
 *     BackupBitmaps.remove(q, BackupBitmaps.stale(q, s, Optional.of("web")));
 * }
 * }</pre>
 */
public final class BackupBitmaps {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private BackupBitmaps() {
    }

    /**
     * One of our bitmaps.
     *
     * @param device the drive's device name in {@code query-block} (may be empty for {@code -blockdev} drives)
     * @param node the node the bitmap is on
     * @param name the bitmap's name
     * @param storeId the first (up to) 8 characters of the id of the store it was made for
     * @param snapshot the snapshot it was started with (every guest write since then is marked in it)
     * @param dirtyBytes bytes marked dirty
     * @param persistent whether QEMU keeps it in the qcow2 image across a restart
     * @param busy whether a job uses it (QEMU refuses to remove it then)
     */
    public record Bitmap(String device, String node, String name, String storeId, SnapshotId snapshot,
            long dirtyBytes, boolean persistent, boolean busy) {
        /** Whether it was made for {@code store}. */
        public boolean ofStore(ChunkStore store) {
            return store.id().substring(0, Math.min(8, store.id().length())).equals(storeId);
        }
    }

    /**
     * What {@link #remove} did.
     *
     * @param removed the bitmaps removed
     * @param failed one line per bitmap not removed, naming it and why
     */
    public record Removal(List<Bitmap> removed, List<String> failed) {
        /** Copies the lists. */
        public Removal {
            removed = List.copyOf(removed);
            failed = List.copyOf(failed);
        }
    }

    /** Every bitmap of ours in the VM behind {@code client}, for every store and VM name, in QEMU's order. */
    public static List<Bitmap> list(QmpClient client) {
        List<Bitmap> out = new ArrayList<>();
        for (BlockInfo b : new QemuCalls(client, TIMEOUT).call(new QueryBlock())) {
            if (b.inserted() == null || b.inserted().nodeName() == null) {
                continue;
            }
            for (DirtyBitmapInfo d : b.inserted().dirtyBitmaps()) {
                BitmapNames.owner(d.name()).ifPresent(o -> out.add(new Bitmap(Objects.requireNonNullElse(b.device(),
                        ""), b.inserted().nodeName(), d.name(), o.store(), o.snapshot(), d.count(), d.persistent(),
                        d.busy())));
            }
        }
        return out;
    }

    /** {@link #list(QmpClient)}, only those made for {@code store} and, if given, for snapshots of {@code vm}. */
    public static List<Bitmap> list(QmpClient client, ChunkStore store, Optional<String> vm) {
        return list(client).stream().filter(b -> b.ofStore(store))
                .filter(b -> vm.isEmpty() || b.snapshot().vm().equals(vm.get())).toList();
    }

    /**
     * The bitmaps of {@link #list(QmpClient, ChunkStore, Optional)} whose snapshot is no longer in {@code store}
     * (pruned, or the backup that started them failed before committing): no backup can start from them.
     * While a backup job runs in this QEMU none is returned: that backup's new bitmap names a snapshot that is
     * not committed yet and would look stale.
     *
     * @throws IOException if the store cannot list its snapshots
     */
    public static List<Bitmap> stale(QmpClient client, ChunkStore store, Optional<String> vm) throws IOException {
        List<Bitmap> ours = list(client, store, vm);
        if (ours.isEmpty()) {
            return ours;
        }
        Optional<String> job = runningBackupJob(client);
        if (job.isPresent()) {
            throw new BackupException("a backup job (" + job.get() + ") is running in this QEMU: its new bitmap "
                    + "names a snapshot not committed yet, so stale bitmaps cannot be told apart now; retry after it");
        }
        return notInStore(ours, store, vm);
    }

    /**
     * The bitmaps of {@code bitmaps} whose snapshot is not (or not yet) in {@code store}.
     *
     * @throws IOException if the store cannot list its snapshots
     */
    public static List<Bitmap> notInStore(List<Bitmap> bitmaps, ChunkStore store, Optional<String> vm) throws IOException {
        if (bitmaps.isEmpty()) {
            return bitmaps;
        }
        Set<SnapshotId> present = new HashSet<>();
        for (SnapshotInfo s : store.list(vm)) {
            present.add(s.id());
        }
        return bitmaps.stream().filter(b -> !present.contains(b.snapshot())).toList();
    }

    /**
     * The id of a backup job running in this QEMU, if any: while one runs, its new bitmap names a snapshot that is
     * not committed yet.
     */
    public static Optional<String> runningBackupJob(QmpClient client) {
        for (JobInfo j : new QemuCalls(client, TIMEOUT).call(new QueryJobs())) {
            if ("backup".equals(j.type()) && j.status() != QmpJobStatus.CONCLUDED && j.status() != QmpJobStatus.NULL) {
                return Optional.of(j.id());
            }
        }
        return Optional.empty();
    }

    /**
     * Removes {@code bitmaps} (from {@link #list} or {@link #stale}); a bitmap that QEMU refuses to remove (in use
     * by a job, or gone meanwhile) is reported in {@link Removal#failed}, the others are still removed. The next
     * backup of a disk whose bitmap was removed copies it in full.
     */
    public static Removal remove(QmpClient client, List<Bitmap> bitmaps) {
        QemuCalls q = new QemuCalls(client, TIMEOUT);
        List<Bitmap> removed = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (Bitmap b : bitmaps) {
            if (BitmapNames.owner(b.name()).isEmpty()) { // a hand-made record must not reach another tool's bitmap
                failed.add("bitmap " + b.name() + " on " + b.node() + " is not one of ours: left alone");
                continue;
            }
            try {
                q.call(new Remove(b.node(), b.name()));
                removed.add(b);
            } catch (BackupException e) {
                failed.add("bitmap " + b.name() + " on " + b.node() + ": " + e.getMessage());
            }
        }
        return new Removal(removed, failed);
    }
}
