package org.vmbackup.store;

import java.time.Instant;
import java.util.Objects;

/**
 * What a backend knows about one stored object.
 *
 * @param name the object's name
 * @param size its size in bytes
 * @param lastTouched when it was last written or touched ({@link StoreBackend#putIfAbsent} on an existing object)
 */
public record ObjectStat(String name, long size, Instant lastTouched) {
    /** Checks the invariants. */
    public ObjectStat {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(lastTouched, "lastTouched");
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
    }
}
