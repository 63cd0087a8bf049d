package org.vmbackup.nbd.internal;

import static org.vmbackup.nbd.internal.NbdConstants.*;

import org.vmbackup.nbd.FuaLevel;
import org.vmbackup.nbd.NbdCapabilities;
import org.vmbackup.nbd.NbdErrno;

/**
 * Every check a request passes before it reaches a backend, in one place: known command and flags, what was
 * advertised, read-only, and range. Returns {@code null} for a valid request.
 */
final class RequestValidator {
    private static final int KNOWN_FLAGS = CMD_FLAG_FUA | CMD_FLAG_NO_HOLE | CMD_FLAG_DF | CMD_FLAG_REQ_ONE
            | CMD_FLAG_FAST_ZERO;

    /** Why a request is refused, and the NBD error it gets. */
    record Rejection(int error, String reason) {
    }

    private RequestValidator() {
    }

    static Rejection check(NbdRequest r, TransmissionSession s) {
        NbdCapabilities caps = s.caps();
        int type = r.type();
        if (type > CMD_BLOCK_STATUS || type == CMD_DISC) {
            return einval("unknown command " + type);
        }
        if ((r.flags() & ~KNOWN_FLAGS) != 0) {
            return einval("unknown flags 0x" + Integer.toHexString(r.flags()));
        }
        if (r.has(CMD_FLAG_FUA) && caps.fua() == FuaLevel.NONE) {
            return einval("FUA not advertised");
        }
        if ((r.has(CMD_FLAG_NO_HOLE) || r.has(CMD_FLAG_FAST_ZERO)) && type != CMD_WRITE_ZEROES) {
            return einval("NO_HOLE/FAST_ZERO only apply to WRITE_ZEROES");
        }
        if (r.has(CMD_FLAG_DF) && (type != CMD_READ || !s.structuredReplies())) {
            return einval("DF only applies to structured READ");
        }
        if (r.has(CMD_FLAG_REQ_ONE) && type != CMD_BLOCK_STATUS) {
            return einval("REQ_ONE only applies to BLOCK_STATUS");
        }
        boolean writes = type == CMD_WRITE || type == CMD_WRITE_ZEROES || type == CMD_TRIM;
        if (writes && !caps.writable()) {
            return new Rejection(NbdErrno.EPERM.wireValue(), "export is read-only");
        }
        switch (type) {
            case CMD_FLUSH -> {
                if (!caps.flush()) {
                    return einval("FLUSH not advertised");
                }
                if (r.offset() != 0 || r.length() != 0) {
                    return einval("FLUSH with non-zero offset or length");
                }
                return null;
            }
            case CMD_TRIM -> {
                if (!caps.trim()) {
                    return einval("TRIM not advertised");
                }
            }
            case CMD_WRITE_ZEROES -> {
                if (!caps.zero()) {
                    return einval("WRITE_ZEROES not advertised");
                }
            }
            case CMD_CACHE -> {
                if (!caps.cache()) {
                    return einval("CACHE not advertised");
                }
            }
            case CMD_BLOCK_STATUS -> {
                if (!s.blockStatus()) {
                    return einval("no metadata context negotiated");
                }
                if (r.length() == 0) {
                    return einval("zero-length BLOCK_STATUS");
                }
            }
            case CMD_WRITE -> {
                if (r.payloadDropped()) {
                    return einval("WRITE payload " + r.length() + " exceeds " + s.maxPayload());
                }
            }
            case CMD_READ -> {
                if (r.length() > s.maxPayload()) {
                    return new Rejection(NbdErrno.EOVERFLOW.wireValueFor(false, r.has(CMD_FLAG_DF)),
                            "READ length " + r.length() + " exceeds " + s.maxPayload());
                }
            }
            default -> { }
        }
        long size = s.size();
        if (r.offset() < 0 || r.offset() > size || r.length() > size - r.offset()) {
            int error = (type == CMD_WRITE || type == CMD_WRITE_ZEROES) ? NbdErrno.ENOSPC.wireValue()
                    : NbdErrno.EINVAL.wireValue();
            return new Rejection(error, "range offset=" + Long.toUnsignedString(r.offset()) + " length="
                    + r.length() + " beyond export size " + size);
        }
        return null;
    }

    private static Rejection einval(String reason) {
        return new Rejection(NbdErrno.EINVAL.wireValue(), reason);
    }
}
