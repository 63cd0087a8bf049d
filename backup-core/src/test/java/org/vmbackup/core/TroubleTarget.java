package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Wraps a target so that disk writes touching one region of the archive misbehave: they stall (until the archive
 * is aborted), throw, or pass through (to a real archive that fails by itself, e.g. on a full disk). Elsewhere
 * they pass: the tests keep the job from reaching the region by a bandwidth limit, not by holding writes back.
 */
final class TroubleTarget implements ArchiveTarget {
    enum Trouble { STALL, THROW, PASS }

    private final ArchiveTarget inner;
    private final long from;
    private final long to;
    private final Trouble trouble;
    private final CountDownLatch aborted = new CountDownLatch(1);
    /** Requests that reached the region. */
    final AtomicInteger hits = new AtomicInteger();
    /** Whether the VM state stream stalls too, from its first write on (until the archive is aborted). */
    volatile boolean stallVmstate;

    TroubleTarget(ArchiveTarget inner, long from, long to, Trouble trouble) {
        this.inner = inner;
        this.from = from;
        this.to = to;
        this.trouble = trouble;
    }

    @Override
    public ArchiveSink open(ArchiveLayout layout) throws IOException {
        ArchiveSink s = inner.open(layout);
        return new ArchiveSink() {
            /** Whether the request may go on to the real archive. */
            private void pass(long offset, long length) throws IOException {
                if (offset < to && offset + length > from) {
                    hits.incrementAndGet();
                    switch (trouble) {
                        case STALL -> {
                            await(aborted, 120);
                            throw new IOException("the stalled archive was aborted");
                        }
                        case THROW -> throw new IOException("simulated archive failure");
                        case PASS -> {
                            return;
                        }
                    }
                }
            }

            private static void await(CountDownLatch l, int seconds) throws IOException {
                try {
                    if (!l.await(seconds, TimeUnit.SECONDS)) {
                        throw new IOException("test latch not released within " + seconds + " s");
                    }
                } catch (InterruptedException e) {
                    throw new IOException("interrupted in the test target", e);
                }
            }

            @Override
            public void write(int disk, long offset, ByteBuffer data) throws IOException {
                pass(offset, data.remaining());
                s.write(disk, offset, data);
            }

            @Override
            public void writeZeroes(int disk, long offset, long length) throws IOException {
                pass(offset, length);
                s.writeZeroes(disk, offset, length);
            }

            @Override
            public WritableByteChannel vmstateChannel() throws IOException {
                WritableByteChannel v = s.vmstateChannel();
                return new WritableByteChannel() {
                    @Override
                    public int write(ByteBuffer src) throws IOException {
                        if (stallVmstate) {
                            await(aborted, 120);
                            throw new IOException("the stalled archive was aborted");
                        }
                        return v.write(src);
                    }

                    @Override
                    public boolean isOpen() {
                        return v.isOpen();
                    }

                    @Override
                    public void close() throws IOException {
                        v.close();
                    }
                };
            }

            @Override
            public void commit() throws IOException {
                s.commit();
            }

            @Override
            public void abort() {
                aborted.countDown();
                s.abort();
            }

            @Override
            public String describe() {
                return s.describe();
            }
        };
    }
}
