package org.vmbackup.core;

import java.io.IOException;

/** Wraps a target so every disk write fails with {@link #failWith} once the test sets it. */
final class FailingTarget extends CheckedTarget {
    volatile IOException failWith;

    FailingTarget(ArchiveTarget inner) {
        super(inner);
    }

    @Override
    void beforeDiskWrite(long offset) throws IOException {
        IOException f = failWith;
        if (f != null) {
            throw f;
        }
    }
}
