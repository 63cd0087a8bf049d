package org.vmbackup.core;

import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Wraps a target so disk writes beyond the first MiB wait until the test opens the gate. The first MiB passes at
 * once: QEMU drains the backup job's first request inside the guest pause.
 */
final class GatedTarget extends CheckedTarget {
    final CountDownLatch gate = new CountDownLatch(1);

    GatedTarget(ArchiveTarget inner) {
        super(inner);
    }

    void open() {
        gate.countDown();
    }

    @Override
    void beforeDiskWrite(long offset) throws IOException {
        if (offset < (1 << 20)) {
            return;
        }
        try {
            if (!gate.await(60, TimeUnit.SECONDS)) {
                throw new IOException("test gate never opened");
            }
        } catch (InterruptedException e) {
            throw new IOException("interrupted at the test gate", e);
        }
    }
}
