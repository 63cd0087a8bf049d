package org.vmbackup.store;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/**
 * {@link ChunkStore#verify}: checks manifests and indexes, then re-reads and re-hashes each distinct chunk once
 * (on the store's workers), and reports every snapshot place that needs a damaged or missing chunk.
 *
 * <p>Memory: one snapshot's indexes at a time and a {@link DigestSet} of the chunks checked so far (tens of bytes
 * per distinct chunk), not the places that need each chunk: a store of 30 snapshots of a 1 TiB disk has 30 million
 * of those. The places of the damaged chunks only are found afterwards, by reading the indexes once more.
 */
final class Verifier {
    private final StoreContext ctx;
    private final List<VerifyReport.Damage> damage = new ArrayList<>();
    private final DigestSet checked = new DigestSet();
    /** Damaged or missing chunks (hex digest) and what is wrong with each. */
    private final Map<String, String> bad = new HashMap<>();
    private final ArrayDeque<Check> window = new ArrayDeque<>();
    private long chunks;
    private long bytes;

    private record Check(byte[] digest, CompletableFuture<Integer> length) {
    }

    /** What a snapshot's indexes name, chunk by chunk: the place is {@code where + offset}, built only when needed. */
    private interface ChunkVisitor {
        void chunk(byte[] digest, String where, long offset);
    }

    Verifier(StoreContext ctx) {
        this.ctx = ctx;
    }

    VerifyReport verify(List<SnapshotId> ids, Consumer<VerifyProgress> progress) throws IOException {
        for (int n = 0; n < ids.size(); n++) {
            walk(ids.get(n), true, (digest, where, offset) -> {
                if (checked.add(digest)) {
                    submit(digest, where + offset);
                }
            });
            while (!window.isEmpty()) { // a short stall per snapshot, so that progress counts only what is done
                complete(window.poll());
            }
            progress.accept(new VerifyProgress(ids.get(n), n + 1, ids.size(), chunks, bytes, damage.size() + bad.size()));
        }
        if (!bad.isEmpty()) {
            for (SnapshotId id : ids) {
                walk(id, false, (digest, where, offset) -> {
                    String problem = bad.get(Digests.hex(digest));
                    if (problem != null) {
                        damage.add(new VerifyReport.Damage(id, Digests.chunkName(digest),
                                problem + ", needed at " + where + offset));
                    }
                });
            }
        }
        return new VerifyReport(ids, chunks, bytes, damage);
    }

    private void submit(byte[] digest, String place) {
        while (window.size() >= 2 * ctx.threads) {
            complete(window.poll());
        }
        CompletableFuture<Integer> f = CompletableFuture.supplyAsync(() -> {
            try {
                return ctx.readChunk(digest, "needed by " + place).length;
            } catch (IOException ex) {
                throw new CompletionException(ex);
            }
        }, ctx.workers);
        window.add(new Check(digest, f));
    }

    private void complete(Check c) {
        try {
            bytes += c.length().join();
            chunks++;
        } catch (CompletionException ex) {
            bad.put(Digests.hex(c.digest()), ex.getCause() instanceof CorruptDataException x ? reason(x.getMessage())
                    : "cannot be read: " + ex.getCause().getMessage());
        }
    }

    /** The part of a chunk error after its "(place)": "is missing...", "is damaged (...)". */
    private static String reason(String message) {
        int close = message.indexOf(") ");
        return close >= 0 ? message.substring(close + 2) : message;
    }

    /**
     * Visits every chunk that snapshot {@code id} needs. A manifest or index that cannot be read is damage (reported
     * when {@code report}, in the first pass; the second pass skips what it cannot read).
     */
    private void walk(SnapshotId id, boolean report, ChunkVisitor visitor) {
        Manifest m;
        try {
            m = ctx.readManifest(id);
        } catch (IOException e) {
            if (report) {
                damage.add(new VerifyReport.Damage(id, Manifest.objectName(id), e.getMessage()));
            }
            return;
        }
        String prefix = "snapshot " + id + ", ";
        for (int d = 0; d < m.disks().size(); d++) {
            Manifest.DiskEntry e = m.disks().get(d);
            try {
                try (FixedIndex idx = ctx.readDiskIndex(m, d)) {
                    String where = prefix + "disk " + d + " (" + e.name() + ") offset ";
                    for (int i = 0; i < idx.count(); i++) {
                        if (!idx.isHole(i)) {
                            visitor.chunk(idx.digest(i), where, (long) i * idx.chunkSize());
                        }
                    }
                }
            } catch (IOException ex) {
                if (report) {
                    damage.add(new VerifyReport.Damage(id, Manifest.dir(id) + e.index(), ex.getMessage()));
                }
            }
        }
        List<Manifest.StreamEntry> streams = new ArrayList<>(m.configs());
        m.vmstate().ifPresent(streams::add);
        for (Manifest.StreamEntry s : streams) {
            String label = s.name().equals("vmstate") && s.index().equals("vmstate.didx") ? "VM state" : "config " + s.name();
            try {
                StreamIndex idx = ctx.readStreamIndex(m, s, label);
                String where = prefix + label + " offset ";
                for (int i = 0; i < idx.entries().size(); i++) {
                    if (!Digests.isHole(idx.entries().get(i).digest())) {
                        visitor.chunk(idx.entries().get(i).digest(), where, idx.start(i));
                    }
                }
            } catch (IOException ex) {
                if (report) {
                    damage.add(new VerifyReport.Damage(id, Manifest.dir(id) + s.index(), ex.getMessage()));
                }
            }
        }
    }
}
