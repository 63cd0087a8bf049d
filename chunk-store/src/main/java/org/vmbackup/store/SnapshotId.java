package org.vmbackup.store;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A snapshot's name in its store: the VM's name and the UTC instant (whole seconds) the snapshot is of, written
 * {@code web1/2026-12-06T23:40:00Z}.
 *
 * @param vm the VM's name: 1 to 64 of {@code A-Z a-z 0-9 . _ -}, not starting with {@code .} or {@code -}
 * @param instant the instant, whole seconds (sub-second parts are refused)
 */
public record SnapshotId(String vm, Instant instant) implements Comparable<SnapshotId> {
    private static final Pattern VM_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}");

    /** Checks the invariants. */
    public SnapshotId {
        Objects.requireNonNull(vm, "vm");
        Objects.requireNonNull(instant, "instant");
        checkVmName(vm);
        if (instant.getNano() != 0) {
            throw new IllegalArgumentException("snapshot instant " + instant + " has a fraction of a second");
        }
    }

    /**
     * A snapshot of {@code vm} at {@code instant} truncated to whole seconds.
     *
     * @param vm the VM's name
     * @param instant any instant
     * @return the id
     */
    public static SnapshotId of(String vm, Instant instant) {
        return new SnapshotId(vm, instant.truncatedTo(ChronoUnit.SECONDS));
    }

    /**
     * Parses {@code VM/INSTANT}.
     *
     * @param text e.g. {@code web1/2026-12-06T23:40:00Z}
     * @return the id
     * @throws IllegalArgumentException naming what is wrong with {@code text}
     */
    public static SnapshotId parse(String text) {
        int slash = text.lastIndexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("snapshot id '" + text + "' is not VM/INSTANT (e.g. web1/2026-12-06T23:40:00Z)");
        }
        Instant at;
        try {
            at = Instant.parse(text.substring(slash + 1));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("snapshot id '" + text + "': '" + text.substring(slash + 1)
                    + "' is not a UTC instant like 2026-12-06T23:40:00Z");
        }
        return new SnapshotId(text.substring(0, slash), at);
    }

    /**
     * Checks a VM name.
     *
     * @param vm the name
     * @throws IllegalArgumentException when it is not a plain safe name
     */
    public static void checkVmName(String vm) {
        if (!VM_NAME.matcher(vm).matches()) {
            throw new IllegalArgumentException("VM name '" + vm + "' is not 1-64 of A-Z a-z 0-9 . _ - "
                    + "(not starting with . or -)");
        }
    }

    /** @return the instant as in the string form ({@code 2026-12-06T23:40:00Z}) */
    public String instantText() {
        return DateTimeFormatter.ISO_INSTANT.format(instant);
    }

    @Override
    public int compareTo(SnapshotId o) {
        int c = vm.compareTo(o.vm);
        return c != 0 ? c : instant.compareTo(o.instant);
    }

    /** @return {@code VM/INSTANT} */
    @Override
    public String toString() {
        return vm + "/" + instantText();
    }
}
