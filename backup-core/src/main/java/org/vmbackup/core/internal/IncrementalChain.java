package org.vmbackup.core.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.DiskResult;
import org.vmbackup.core.StoreTarget;
import org.vmbackup.qmp.command.DirtyBitmapCommands.Add;
import org.vmbackup.qmp.command.DirtyBitmapCommands.Remove;
import org.vmbackup.qmp.command.QueryCommands.BlockInfo;
import org.vmbackup.qmp.command.QueryCommands.DirtyBitmapInfo;
import org.vmbackup.qmp.command.QueryCommands.QueryBlock;
import org.vmbackup.qmp.command.TransactionCommands.Action;
import org.vmbackup.qmp.command.TransactionCommands.Transaction;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.SnapshotReader;

/**
 * The step that makes a backup into a chunk store incremental where QEMU's dirty bitmaps prove it safe, and keeps
 * one bitmap per disk tied to the newest snapshot ({@link BitmapNames}).
 *
 * <p>At the instant every disk gets a new bitmap named for the snapshot being made (persistent on qcow2 nodes, so
 * it survives a clean QEMU restart; in memory otherwise). A disk whose bitmap names a snapshot that is in the
 * store, is consistent, recording and idle, and whose size is that snapshot's is copied with {@code sync=bitmap}
 * from that bitmap in mode {@code never}: QEMU sends only the marked clusters and leaves the bitmap whole. After
 * the snapshot committed the old bitmaps are removed; after a failure or cancel the new ones are, and the old ones
 * (QEMU merged the job's successor back into them) still hold every write since their snapshot. Either way the
 * next backup is correct. Every other disk is copied in full, with the reason.
 */
public final class IncrementalChain {
    private static final Logger log = LoggerFactory.getLogger(IncrementalChain.class);
    private static final Duration CLEANUP_TIMEOUT = Duration.ofSeconds(10);

    /** One disk's decision: {@code from} is the bitmap to copy from, null for a full copy. */
    private record Plan(SourceDisk disk, String name, String from, String mode, String newBitmap) {
    }

    private final BitmapNames names;
    private final List<Plan> plans;
    private final Optional<SnapshotId> parent;
    private final StoreTarget target;
    private volatile boolean added;

    private IncrementalChain(BitmapNames names, List<Plan> plans, Optional<SnapshotId> parent, StoreTarget target) {
        this.names = names;
        this.plans = plans;
        this.parent = parent;
        this.target = target;
    }

    /** Decides, disk by disk, between an incremental and a full copy for the snapshot {@code layout} makes. */
    public static IncrementalChain plan(QemuCalls q, List<SourceDisk> disks, ArchiveLayout layout,
            StoreTarget target) {
        BitmapNames names = new BitmapNames(target.store().id(), target.vm());
        String newBitmap = names.of(target.snapshotId(layout));
        long t0 = System.nanoTime();
        Map<String, List<DirtyBitmapInfo>> bitmaps = new HashMap<>();
        for (BlockInfo b : q.call(new QueryBlock())) {
            if (b.inserted() != null && b.inserted().nodeName() != null) {
                bitmaps.put(b.inserted().nodeName(), b.inserted().dirtyBitmaps());
            }
        }
        // Only the snapshots our bitmaps name are looked up (one manifest each, usually one in all): listing the
        // VM's snapshots would read every manifest of its history.
        SnapshotLookup snapshots = new SnapshotLookup(target.store());
        // each disk's newest bitmap of ours naming a snapshot that is in the store
        Map<SourceDisk, DirtyBitmapInfo> proofs = new HashMap<>();
        Map<SourceDisk, String> reasons = new HashMap<>();
        for (SourceDisk d : disks) {
            List<DirtyBitmapInfo> ours = bitmaps.getOrDefault(d.node(), List.of()).stream()
                    .filter(b -> names.parse(b.name()).isPresent())
                    .sorted(Comparator.comparing((DirtyBitmapInfo b) -> names.parse(b.name()).get()).reversed())
                    .toList();
            if (target.fullForced()) {
                reasons.put(d, "full copy requested");
                continue;
            }
            Optional<DirtyBitmapInfo> proof = Optional.empty();
            String storeTrouble = null;
            try {
                for (DirtyBitmapInfo b : ours) {
                    if (snapshots.find(names.parse(b.name()).get()).isPresent()) {
                        proof = Optional.of(b);
                        break;
                    }
                }
            } catch (IOException | RuntimeException e) {
                storeTrouble = "cannot read the snapshots in the store: " + e.getMessage();
            }
            if (storeTrouble != null) {
                reasons.put(d, storeTrouble);
            } else if (ours.isEmpty()) {
                reasons.put(d, snapshots.noneOf(target.vm()) ? "first backup of the VM into the store"
                        : "bitmap missing (new disk, or QEMU restarted and the bitmap was not persistent)");
            } else if (proof.isEmpty()) {
                reasons.put(d, "the snapshot its bitmap " + ours.get(0).name() + " started with is no longer in "
                        + "the store (pruned?)");
            } else if (proof.get().inconsistent()) {
                reasons.put(d, "bitmap " + proof.get().name() + " is inconsistent (QEMU stopped without saving "
                        + "it)");
            } else if (proof.get().busy()) {
                reasons.put(d, "bitmap " + proof.get().name() + " is in use by another job");
            } else if (!proof.get().recording()) {
                reasons.put(d, "bitmap " + proof.get().name() + " is disabled");
            } else {
                proofs.put(d, proof.get());
            }
        }
        Optional<SnapshotId> parent = proofs.values().stream().map(b -> names.parse(b.name()).get())
                .max(Comparator.naturalOrder());
        long t1 = System.nanoTime();
        String damaged = parent.map(p -> readable(target, p)).orElse(null);
        log.debug("incremental plan: bitmaps and snapshots {} ms, parent readable {} ms", (t1 - t0) / 1_000_000,
                (System.nanoTime() - t1) / 1_000_000);
        List<Plan> plans = new ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
            SourceDisk d = disks.get(i);
            String name = layout.disk(i).name();
            DirtyBitmapInfo proof = proofs.get(d);
            String reason = reasons.get(d);
            SnapshotInfo p = parent.flatMap(snapshots::known).orElse(null);
            int inParent = p == null ? -1 : p.diskNumber(name);
            if (reason == null) {
                SnapshotId of = names.parse(proof.name()).get();
                if (!of.equals(parent.get())) {
                    reason = "its bitmap started with snapshot " + of + ", the other disks' with " + parent.get();
                } else if (damaged != null) {
                    reason = damaged;
                } else if (inParent < 0) {
                    reason = "new disk (not in parent snapshot " + parent.get() + ")";
                } else if (p.disks().get(inParent).size() != d.size()) {
                    reason = "disk resized (" + p.disks().get(inParent).size() + " bytes in " + parent.get()
                            + ", now " + d.size() + ")";
                }
            } else if (p != null && inParent < 0 && reason.startsWith("bitmap missing")) {
                reason = "new disk (not in parent snapshot " + parent.get() + ")";
            }
            plans.add(reason == null ? new Plan(d, name, proof.name(), "incremental from " + parent.get(), newBitmap)
                    : new Plan(d, name, null, "full: " + reason, newBitmap));
        }
        boolean anyIncremental = plans.stream().anyMatch(x -> x.from() != null);
        for (Plan x : plans) {
            log.info("disk {}: {}", x.name(), x.mode());
        }
        return new IncrementalChain(names, List.copyOf(plans), anyIncremental ? parent : Optional.empty(), target);
    }

    /** Null when the snapshot's manifest and indexes can be opened, else why not. */
    private static String readable(StoreTarget target, SnapshotId id) {
        try (SnapshotReader r = target.store().open(id)) {
            r.info();
            return null;
        } catch (IOException | RuntimeException e) {
            return "parent snapshot " + id + " cannot be read: " + e.getMessage();
        }
    }

    /** The parent snapshot of the incremental disks, empty when every disk is copied in full. */
    public Optional<SnapshotId> parent() {
        return parent;
    }

    /** The archive names of the disks copied incrementally. */
    public Set<String> incrementalDisks() {
        Set<String> out = new HashSet<>();
        plans.stream().filter(p -> p.from() != null).forEach(p -> out.add(p.name()));
        return out;
    }

    /** Per disk (in order) the bitmap its job copies from, null for a full copy. */
    List<String> syncBitmaps() {
        return plans.stream().map(Plan::from).toList();
    }

    /**
     * The transaction adding the new bitmaps. It is sent before the backup transaction, inside the guest pause
     * when there is one: QEMU 7.2 refuses bitmap actions in a grouped transaction. Without a pause a write
     * between the two lands in the new bitmap and in this backup both, which only costs the next backup a
     * cluster.
     */
    Transaction addTransaction() {
        List<Action> actions = new ArrayList<>();
        for (Plan p : plans) {
            actions.add(new Add(p.disk().node(), p.newBitmap(), null, "qcow2".equals(p.disk().format()), null));
        }
        added = true;
        return new Transaction(actions);
    }

    /** After the snapshot committed: removes our older bitmaps (this store, this VM) of every disk. */
    void committed(QemuCalls q) {
        Map<String, List<DirtyBitmapInfo>> now = new HashMap<>();
        for (BlockInfo b : q.tryQuery(new QueryBlock(), CLEANUP_TIMEOUT).orElse(List.of())) {
            if (b.inserted() != null && b.inserted().nodeName() != null) {
                now.put(b.inserted().nodeName(), b.inserted().dirtyBitmaps());
            }
        }
        for (Plan p : plans) {
            for (DirtyBitmapInfo b : now.getOrDefault(p.disk().node(), List.of())) {
                if (!b.name().equals(p.newBitmap()) && names.parse(b.name()).isPresent()) {
                    q.tryRun(new Remove(p.disk().node(), b.name()), CLEANUP_TIMEOUT);
                }
            }
        }
    }

    /** After a failure or cancel: removes the new bitmaps; the old ones still prove their snapshot. */
    void abandon(QemuCalls q) {
        if (!added) {
            return;
        }
        for (Plan p : plans) {
            q.tryRun(new Remove(p.disk().node(), p.newBitmap()), CLEANUP_TIMEOUT);
        }
    }

    /** {@code plain} (in disk order) with each disk's mode and the bytes it added to the store. */
    List<DiskResult> results(List<DiskResult> plain) {
        Optional<SnapshotInfo> made = target.committed();
        List<DiskResult> out = new ArrayList<>();
        for (int i = 0; i < plain.size(); i++) {
            DiskResult r = plain.get(i);
            Plan p = plans.get(i);
            long bytesNew = made.map(m -> m.diskNumber(r.name()) < 0 ? -1L
                    : m.disks().get(m.diskNumber(r.name())).bytesNew()).orElse(-1L);
            out.add(new DiskResult(r.name(), r.device(), r.size(), r.dataBytes(), r.zeroBytes(), p.from() != null,
                    p.mode(), bytesNew));
        }
        return out;
    }
}
