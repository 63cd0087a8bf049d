package org.vmbackup.core.internal;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vmbackup.store.SnapshotId;

/**
 * The names of our dirty bitmaps: {@code vmbackup-<store id, 8 chars>-<vm>-<snapshot instant>}. A bitmap so named
 * was started in the same instant as that snapshot of that VM in that store, so it has recorded every guest write
 * since the snapshot: the name is the proof of its parent. A name that does not parse this way is not ours and is
 * never touched.
 */
public final class BitmapNames {
    /** vmbackup-STORE8-VM-INSTANT; the VM part is checked by {@link SnapshotId}, the whole by a round trip. */
    private static final Pattern ANY = Pattern.compile(
            "vmbackup-([0-9A-Za-z]{1,8})-(.+)-([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)");

    /**
     * Whose a bitmap is: the first (up to) 8 characters of the store id and the snapshot it was started with.
     *
     * @param store the store id's first 8 characters
     * @param snapshot the snapshot
     */
    public record Owner(String store, SnapshotId snapshot) {
        /** Whether the bitmap belongs to the store with id {@code storeId}. */
        public boolean ofStore(String storeId) {
            return store.equals(storeId.substring(0, Math.min(8, storeId.length())));
        }
    }


    private final String prefix;
    private final String vm;

    /** The names for snapshots of {@code vm} in the store with id {@code storeId}. */
    BitmapNames(String storeId, String vm) {
        this.prefix = "vmbackup-" + storeId.substring(0, Math.min(8, storeId.length())) + "-" + vm + "-";
        this.vm = vm;
    }

    /**
     * The store and snapshot of any of our bitmaps (every store, every VM), or empty when {@code name} is not ours:
     * another tool's bitmap is never listed nor removed.
     */
    public static Optional<Owner> owner(String name) {
        Matcher m = ANY.matcher(name);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            SnapshotId id = SnapshotId.of(m.group(2), Instant.parse(m.group(3)));
            // the name must be exactly what a backup would have made of this store prefix and snapshot
            return new BitmapNames(m.group(1), id.vm()).of(id).equals(name)
                    ? Optional.of(new Owner(m.group(1), id)) : Optional.empty();
        } catch (IllegalArgumentException | DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** The bitmap started with snapshot {@code id}. */
    String of(SnapshotId id) {
        return prefix + id.instantText();
    }

    /** The snapshot the bitmap {@code name} was started with, or empty when it is not ours (this store, this VM). */
    Optional<SnapshotId> parse(String name) {
        if (!name.startsWith(prefix)) {
            return Optional.empty();
        }
        try {
            Instant at = Instant.parse(name.substring(prefix.length()));
            return at.getNano() == 0 ? Optional.of(new SnapshotId(vm, at)) : Optional.empty();
        } catch (DateTimeParseException e) {
            return Optional.empty(); // e.g. the bitmap of a VM whose name extends ours ("web" and "web-2")
        }
    }
}
