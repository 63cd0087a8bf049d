package org.vmbackup.core;

import java.time.Duration;
import java.util.Objects;

/**
 * What a backup's file-system freeze ({@link FsFreeze}) did.
 *
 * @param mode the mode asked for
 * @param quiesced whether the guest's file systems were frozen through the backup's consistent instant: the
 *     archive is application-consistent
 * @param frozenFileSystems how many file systems the agent froze (0 when not quiesced)
 * @param window how long the file systems were frozen, from the agent's freeze reply to its thaw reply (zero
 *     when nothing was frozen)
 * @param note why the backup is not quiesced, or other facts worth telling (empty when there are none)
 * @param thawFailure empty, or why the guest's file systems could not be thawed: they may still be frozen and
 *     the guest's writes to them stalled until someone thaws them ({@code guest-fsfreeze-thaw})
 */
public record FsFreezeResult(FsFreeze mode, boolean quiesced, int frozenFileSystems, Duration window, String note,
        String thawFailure) {
    /** Checks the fields. */
    public FsFreezeResult {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(window, "window");
        Objects.requireNonNull(note, "note");
        Objects.requireNonNull(thawFailure, "thawFailure");
    }

    /** The result of a backup that did not ask for a freeze. */
    public static FsFreezeResult off() {
        return new FsFreezeResult(FsFreeze.OFF, false, 0, Duration.ZERO, "", "");
    }

    /** Whether the thaw failed: the guest may still be frozen. */
    public boolean thawFailed() {
        return !thawFailure.isEmpty();
    }
}
