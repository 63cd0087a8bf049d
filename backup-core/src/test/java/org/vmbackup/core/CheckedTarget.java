package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/** Wraps a target and runs a check before each disk write reaches it: the shape of the tests' faulty archives. */
abstract class CheckedTarget implements ArchiveTarget {
    private final ArchiveTarget inner;

    CheckedTarget(ArchiveTarget inner) {
        this.inner = inner;
    }

    /** Runs before the disk write at {@code offset} is passed on; may wait or throw. */
    abstract void beforeDiskWrite(long offset) throws IOException;

    @Override
    public ArchiveSink open(ArchiveLayout layout) throws IOException {
        ArchiveSink s = inner.open(layout);
        return new ArchiveSink() {
            @Override
            public void write(int disk, long offset, ByteBuffer data) throws IOException {
                beforeDiskWrite(offset);
                s.write(disk, offset, data);
            }

            @Override
            public void writeZeroes(int disk, long offset, long length) throws IOException {
                beforeDiskWrite(offset);
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
