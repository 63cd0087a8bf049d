package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.nio.file.Path;

/** Archives with known content written through the sinks, and what reading them back through a source gives. */
final class ArchiveSourceFixtures {
    private ArchiveSourceFixtures() {
    }

    /** An archive's content: disks (name, bytes), configs, VM state bytes (empty: none). */
    record Content(List<String> names, List<byte[]> disks, List<ConfigBlob> configs, byte[] vmstate) {
        ArchiveLayout layout() {
            List<ArchiveDisk> ds = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                ds.add(new ArchiveDisk(names.get(i), disks.get(i).length));
            }
            return new ArchiveLayout(UUID.fromString("11111111-2222-3333-4444-555555555555"),
                    Instant.parse("2026-12-01T12:00:00Z"), ds, vmstate.length, configs);
        }
    }

    /**
     * A disk of {@code size} bytes that is mostly holes: random data in a few scattered ranges, one of them
     * unaligned, and a zero 4 KiB block inside data.
     */
    static byte[] sparseDisk(int size, long seed) {
        byte[] b = new byte[size];
        Random r = new Random(seed);
        for (int k = 0; k < 6; k++) {
            int at = r.nextInt(size);
            int len = Math.min(size - at, 1 + r.nextInt(200_000));
            for (int i = at; i < at + len; i++) {
                b[i] = (byte) (1 + r.nextInt(255));
            }
        }
        if (size > 3 * 65536) {
            Arrays.fill(b, 65536, 2 * 65536, (byte) 7);
            Arrays.fill(b, 65536 + 8192, 65536 + 12288, (byte) 0);
        }
        return b;
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /**
     * Writes {@code c} through {@code target}'s sink the way a backup does: out of order, in 1 MiB and odd-sized
     * pieces, zero pieces as {@code writeZeroes}, the VM state in uneven pieces; then commits.
     */
    static void write(ArchiveTarget target, Content c) throws IOException {
        ArchiveSink sink = target.open(c.layout());
        try {
            for (int d = c.disks().size() - 1; d >= 0; d--) {
                byte[] b = c.disks().get(d);
                int piece = 1 << 20;
                int pieces = (b.length + piece - 1) / piece;
                for (int p = pieces - 1; p >= 0; p--) { // backwards: any order must do
                    int at = p * piece;
                    int len = Math.min(piece, b.length - at);
                    if (allZero(b, at, len)) {
                        sink.writeZeroes(d, at, len);
                    } else {
                        int half = len / 3; // two pieces, the first one not cluster aligned in length
                        sink.write(d, at + half, ByteBuffer.wrap(b, at + half, len - half));
                        if (half > 0) {
                            sink.write(d, at, ByteBuffer.wrap(b, at, half));
                        }
                    }
                }
            }
            if (c.vmstate().length > 0) {
                try (WritableByteChannel vm = sink.vmstateChannel()) {
                    for (int at = 0; at < c.vmstate().length; ) {
                        int len = Math.min(c.vmstate().length - at, 100_001);
                        vm.write(ByteBuffer.wrap(c.vmstate(), at, len));
                        at += len;
                    }
                }
            }
            sink.commit();
        } catch (IOException | RuntimeException e) {
            sink.abort();
            throw e;
        }
    }

    static boolean allZero(byte[] b, int at, int len) {
        for (int i = at; i < at + len; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** What {@link ArchiveSource#read} gave: the disks rebuilt from the runs, and the VM state stream. */
    record Read(List<byte[]> disks, byte[] vmstate) {
    }

    /**
     * Reads everything through {@link ArchiveSource#read}, asserting that each disk byte comes exactly once, zero
     * runs are in the disk, and the VM state comes in order without gaps.
     */
    static Read readAll(ArchiveSource s) throws IOException {
        ArchiveLayout l = s.layout();
        List<byte[]> disks = new ArrayList<>();
        List<BitSet> seen = new ArrayList<>();
        for (ArchiveDisk d : l.disks()) {
            disks.add(new byte[(int) d.size()]);
            seen.add(new BitSet());
        }
        java.io.ByteArrayOutputStream vm = new java.io.ByteArrayOutputStream();
        s.read(new ArchiveVisitor() {
            @Override
            public void data(int disk, long offset, ByteBuffer data) {
                assertThat(data.isReadOnly()).isTrue();
                cover(disk, offset, data.remaining());
                data.get(disks.get(disk), (int) offset, data.remaining());
            }

            @Override
            public void zero(int disk, long offset, long length) {
                cover(disk, offset, length);
            }

            private void cover(int disk, long offset, long length) {
                assertThat(length).isPositive();
                assertThat(offset + length).isLessThanOrEqualTo(l.disk(disk).size());
                BitSet b = seen.get(disk);
                int next = b.nextSetBit((int) offset);
                assertThat(next < 0 || next >= offset + length).as("disk %d byte %d delivered twice", disk, next)
                        .isTrue();
                b.set((int) offset, (int) (offset + length));
            }

            @Override
            public void vmstate(long offset, ByteBuffer data) {
                assertThat(offset).isEqualTo(vm.size());
                byte[] a = new byte[data.remaining()];
                data.get(a);
                vm.write(a, 0, a.length);
            }
        });
        for (int i = 0; i < disks.size(); i++) {
            assertThat(seen.get(i).cardinality()).as("bytes of disk %d delivered", i).isEqualTo(disks.get(i).length);
        }
        return new Read(disks, vm.toByteArray());
    }

    /** Reads disk {@code index} through random access in uneven pieces, checking block status against the data. */
    static byte[] readRandomAccess(ArchiveSource s, int index) throws IOException {
        RandomAccessDisk d = s.disk(index);
        int size = (int) d.disk().size();
        byte[] out = new byte[size];
        for (int at = 0; at < size; ) {
            int len = Math.min(size - at, 300_007);
            ByteBuffer dst = ByteBuffer.wrap(out, at, len);
            assertThat(d.read(at, dst)).isEqualTo(len);
            assertThat(dst.hasRemaining()).isFalse();
            at += len;
        }
        ByteBuffer past = ByteBuffer.allocate(10);
        assertThat(d.read(size, past)).isZero();
        for (long at = 0; at < size; ) {
            BlockStatus st = d.blockStatus(at, size);
            assertThat(st.offset()).isEqualTo(at);
            assertThat(at + st.length()).isLessThanOrEqualTo(size);
            if (st.hole()) {
                assertThat(allZero(out, (int) at, (int) st.length())).as("hole at %d reads zero", at).isTrue();
            }
            at += st.length();
        }
        return out;
    }

    static byte[] readChannel(ReadableByteChannel ch) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(70_000);
        try (ch) {
            while (ch.read(buf.clear()) >= 0) {
                out.write(buf.array(), 0, buf.position());
            }
        }
        return out.toByteArray();
    }

    /** VMA stores the VM state in whole 64 KiB clusters: the stream read back is the original, zero padded. */
    static void assertVmstate(byte[] read, byte[] expected, boolean padded) {
        if (padded) {
            assertThat(read.length % 65536).isZero();
            assertThat(read.length).isBetween(expected.length, expected.length + 65535);
            assertThat(Arrays.copyOf(read, expected.length)).isEqualTo(expected);
            assertThat(allZero(read, expected.length, read.length - expected.length)).isTrue();
        } else {
            assertThat(read).isEqualTo(expected);
        }
    }

    static Path child(Path dir, String name) {
        return dir.resolve(name);
    }

    /** An archive source that passes every call to {@code inner}: tests override the call they watch or disturb. */
    static class ForwardingSource implements ArchiveSource {
        final ArchiveSource inner;

        ForwardingSource(ArchiveSource inner) {
            this.inner = inner;
        }

        @Override
        public ArchiveLayout layout() {
            return inner.layout();
        }

        @Override
        public boolean randomAccess() {
            return inner.randomAccess();
        }

        @Override
        public void read(ArchiveVisitor visitor) throws IOException {
            inner.read(visitor);
        }

        @Override
        public RandomAccessDisk disk(int index) throws IOException {
            return inner.disk(index);
        }

        @Override
        public ReadableByteChannel vmstate() throws IOException {
            return inner.vmstate();
        }

        @Override
        public String describe() {
            return inner.describe();
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }
    }
}
