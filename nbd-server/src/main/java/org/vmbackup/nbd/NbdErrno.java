package org.vmbackup.nbd;

/**
 * The errno-like reasons a backend can give for a failed request. The server maps each onto one of the
 * eight error values the NBD protocol defines ({@link #wireValue()}); the mapping lives here and nowhere else.
 */
public enum NbdErrno {
    /** Operation not permitted (e.g. a write to a read-only store). */
    EPERM(1),
    /** Read-only file system: reported to the client as EPERM. */
    EROFS(1),
    /** An I/O error. */
    EIO(5),
    /** Out of memory. */
    ENOMEM(12),
    /** Invalid argument (out of range, misaligned, unknown flag). */
    EINVAL(22),
    /** No space left. */
    ENOSPC(28),
    /** Quota exceeded: reported as ENOSPC. */
    EDQUOT(28),
    /** File too large: reported as ENOSPC. */
    EFBIG(28),
    /** Value too large; only meaningful for DF reads, otherwise reported as EINVAL. */
    EOVERFLOW(75),
    /** Not supported; only meaningful for FAST_ZERO requests, otherwise reported as EINVAL. */
    ENOTSUP(95),
    /** The server or backend is shutting down. */
    ESHUTDOWN(108);

    private final int wireValue;

    NbdErrno(int wireValue) {
        this.wireValue = wireValue;
    }

    /** The NBD reply error value this reason is sent as, when the request gives it meaning. */
    public int wireValue() {
        return wireValue;
    }

    /**
     * The NBD error to send for this reason in reply to a request: ENOTSUP only answers a FAST_ZERO request and
     * EOVERFLOW only a DF read (the spec reserves them for those), anything else that has no meaning there is
     * EINVAL.
     *
     * @param fastZeroRequested whether the request carried NBD_CMD_FLAG_FAST_ZERO
     * @param dfRequested whether the request carried NBD_CMD_FLAG_DF
     */
    public int wireValueFor(boolean fastZeroRequested, boolean dfRequested) {
        if (this == ENOTSUP && !fastZeroRequested) {
            return EINVAL.wireValue;
        }
        if (this == EOVERFLOW && !dfRequested) {
            return EINVAL.wireValue;
        }
        return wireValue;
    }
}
