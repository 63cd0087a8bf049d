package org.vmbackup.nbd.internal;

import org.vmbackup.nbd.NbdWriteTarget;

/**
 * Decides, from a WRITE header alone, whether its payload is received straight into backend memory: only for
 * requests the handler will accept, on connections without TLS, when the backend offers a target.
 */
@FunctionalInterface
interface WritePlacement {
    /** The target for this WRITE's payload, or null to receive it into a pooled buffer as usual. */
    NbdWriteTarget targetFor(int flags, long cookie, long offset, int length);
}
