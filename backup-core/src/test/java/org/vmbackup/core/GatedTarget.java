package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Wraps a target so disk writes beyond the first MiB wait until the test opens the gate (and can be made to
 * fail). The first MiB passes at once: QEMU drains the backup job's first request inside the guest pause.
 */
final class GatedTarget implements ArchiveTarget {
    final CountDownLatch gate = new CountDownLatch(1);
    private final ArchiveTarget inner;
    volatile IOException failWith;

    GatedTarget(ArchiveTarget inner) {
        this.inner = inner;
    }

    void open() {
        gate.countDown();
    }

    @Override
    public ArchiveSink open(ArchiveLayout layout) throws IOException {
        ArchiveSink s = inner.open(layout);
        return new ArchiveSink() {
            private void pass(long offset) throws IOException {
                IOException f = failWith;
                if (f != null) {
                    throw f;
                }
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
                f = failWith;
                if (f != null) {
                    throw f;
                }
            }

            @Override
            public void write(int disk, long offset, ByteBuffer data) throws IOException {
                pass(offset);
                s.write(disk, offset, data);
            }

            @Override
            public void writeZeroes(int disk, long offset, long length) throws IOException {
                pass(offset);
                s.writeZeroes(disk, offset, length);
            }

            @Override
            public WritableByteChannel vmstateChannel() throws IOException {
                return s.vmstateChannel();
            }

            @Override
            public void commit() throws IOException {
                s.commit();
            }

            @Override
            public void abort() {
                s.abort();
            }

            @Override
            public String describe() {
                return s.describe();
            }
        };
    }
}
