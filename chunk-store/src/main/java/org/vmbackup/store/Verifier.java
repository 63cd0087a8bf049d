package org.vmbackup.store;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * {@link ChunkStore#verify}: checks manifests and indexes, then re-reads and re-hashes each distinct chunk once
 * (on the store's workers), and reports every snapshot place that needs a damaged or missing chunk.
 */
final class Verifier {
    private final StoreContext ctx;
    /** Distinct chunks, each with the places (snapshot, where) that need it. */
    private final Map<String, List<Use>> uses = new LinkedHashMap<>();
    private final List<VerifyReport.Damage> damage = new ArrayList<>();

    private record Use(SnapshotId id, String place) {
    }

    Verifier(StoreContext ctx) {
        this.ctx = ctx;
    }

    VerifyReport verify(List<SnapshotId> ids) throws IOException {
        for (SnapshotId id : ids) {
            collect(id);
        }
        long chunks = 0;
        long bytes = 0;
        ArrayDeque<Map.Entry<String, CompletableFuture<Integer>>> window = new ArrayDeque<>();
        var it = uses.entrySet().iterator();
        while (it.hasNext() || !window.isEmpty()) {
            while (it.hasNext() && window.size() < 2 * ctx.threads) {
                var e = it.next();
                byte[] digest = Digests.unhex(e.getKey());
                CompletableFuture<Integer> f = CompletableFuture.supplyAsync(() -> {
                    try {
                        return ctx.readChunk(digest, "needed by " + e.getValue().get(0).place()).length;
                    } catch (IOException ex) {
                        throw new java.util.concurrent.CompletionException(ex);
                    }
                }, ctx.workers);
                window.add(Map.entry(e.getKey(), f));
            }
            var done = window.poll();
            try {
                bytes += done.getValue().join();
                chunks++;
            } catch (java.util.concurrent.CompletionException ex) {
                String problem = ex.getCause() instanceof CorruptDataException c ? reason(c.getMessage())
                        : "cannot be read: " + ex.getCause().getMessage();
                for (Use u : uses.get(done.getKey())) {
                    damage.add(new VerifyReport.Damage(u.id(), Digests.chunkName(Digests.unhex(done.getKey())),
                            problem + ", needed at " + u.place()));
                }
            }
        }
        return new VerifyReport(ids, chunks, bytes, damage);
    }

    /** The part of a chunk error after its "(place)": "is missing...", "is damaged (...)". */
    private static String reason(String message) {
        int close = message.indexOf(") ");
        return close >= 0 ? message.substring(close + 2) : message;
    }

    private void collect(SnapshotId id) {
        Manifest m;
        try {
            m = ctx.readManifest(id);
        } catch (IOException e) {
            damage.add(new VerifyReport.Damage(id, Manifest.objectName(id), e.getMessage()));
            return;
        }
        for (int d = 0; d < m.disks().size(); d++) {
            Manifest.DiskEntry e = m.disks().get(d);
            try {
                FixedIndex idx = ctx.readDiskIndex(m, d);
                for (int i = 0; i < idx.count(); i++) {
                    if (!idx.isHole(i)) {
                        use(idx.digest(i), id, "disk " + d + " (" + e.name() + ") offset " + (long) i * idx.chunkSize());
                    }
                }
            } catch (IOException ex) {
                damage.add(new VerifyReport.Damage(id, Manifest.dir(id) + e.index(), ex.getMessage()));
            }
        }
        List<Manifest.StreamEntry> streams = new ArrayList<>(m.configs());
        m.vmstate().ifPresent(streams::add);
        for (Manifest.StreamEntry s : streams) {
            String label = s.name().equals("vmstate") && s.index().equals("vmstate.didx") ? "VM state" : "config " + s.name();
            try {
                StreamIndex idx = ctx.readStreamIndex(m, s, label);
                for (int i = 0; i < idx.entries().size(); i++) {
                    if (!Digests.isHole(idx.entries().get(i).digest())) {
                        use(idx.entries().get(i).digest(), id, label + " offset " + idx.start(i));
                    }
                }
            } catch (IOException ex) {
                damage.add(new VerifyReport.Damage(id, Manifest.dir(id) + s.index(), ex.getMessage()));
            }
        }
    }

    private void use(byte[] digest, SnapshotId id, String place) {
        uses.computeIfAbsent(Digests.hex(digest), k -> new ArrayList<>()).add(new Use(id, "snapshot " + id + ", " + place));
    }
}
