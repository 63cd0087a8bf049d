package org.vmbackup.nbd.internal;

import org.vmbackup.nbd.FuaLevel;
import org.vmbackup.nbd.NbdCapabilities;

/**
 * What one connection negotiated: the export, its frozen capabilities, and the reply style.
 *
 * @param entry the export
 * @param caps capabilities frozen at negotiation
 * @param structuredReplies whether NBD_OPT_STRUCTURED_REPLY was acknowledged
 * @param blockStatus whether base:allocation was selected for this export
 * @param maxPayload largest READ/WRITE accepted
 */
public record TransmissionSession(ExportEntry entry, NbdCapabilities caps, boolean structuredReplies,
                                  boolean blockStatus, int maxPayload) {
    /** The export size. */
    public long size() {
        return entry.export().backend().size();
    }

    /** The transmission flags advertised for this session. */
    public int transmissionFlags() {
        return transmissionFlags(caps, structuredReplies);
    }

    /** The transmission flags for the given capabilities and reply style. */
    public static int transmissionFlags(NbdCapabilities caps, boolean structuredReplies) {
        int f = NbdConstants.TFLAG_HAS_FLAGS;
        if (!caps.writable()) {
            f |= NbdConstants.TFLAG_READ_ONLY;
        }
        if (caps.flush()) {
            f |= NbdConstants.TFLAG_SEND_FLUSH;
        }
        if (caps.fua() != FuaLevel.NONE) {
            f |= NbdConstants.TFLAG_SEND_FUA;
        }
        if (caps.trim()) {
            f |= NbdConstants.TFLAG_SEND_TRIM;
        }
        if (caps.zero()) {
            // FAST_ZERO is always accepted with zero support: backends that cannot zero fast refuse with ENOTSUP.
            f |= NbdConstants.TFLAG_SEND_WRITE_ZEROES | NbdConstants.TFLAG_SEND_FAST_ZERO;
        }
        if (structuredReplies) {
            f |= NbdConstants.TFLAG_SEND_DF;
        }
        if (caps.multiConn()) {
            f |= NbdConstants.TFLAG_CAN_MULTI_CONN;
        }
        if (caps.cache()) {
            f |= NbdConstants.TFLAG_SEND_CACHE;
        }
        return f;
    }
}
