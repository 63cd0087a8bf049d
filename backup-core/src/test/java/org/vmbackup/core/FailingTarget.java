package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/** Wraps a target so every disk write fails with {@link #failWith} once the test sets it. */
final class FailingTarget implements ArchiveTarget {
    private final ArchiveTarget inner;
    volatile IOException failWith;

    FailingTarget(ArchiveTarget inner) {
        this.inner = inner;
    }

    @Override
    public ArchiveSink open(ArchiveLayout layout) throws IOException {
        ArchiveSink s = inner.open(layout);
        return new ArchiveSink() {
            private void check() throws IOException {
                IOException f = failWith;
                if (f != null) {
                    throw f;
                }
            }

            @Override
            public void write(int disk, long offset, ByteBuffer data) throws IOException {
                check();
                s.write(disk, offset, data);
            }

            @Override
            public void writeZeroes(int disk, long offset, long length) throws IOException {
                check();
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
