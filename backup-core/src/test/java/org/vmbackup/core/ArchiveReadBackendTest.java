package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.vmbackup.core.ArchiveSourceFixtures.*;

import io.netty.buffer.ByteBuf;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vmbackup.core.internal.ArchiveReadBackend;
import org.vmbackup.nbd.NbdExtent;

/** The NBD backend over a {@link RandomAccessDisk}: the same bytes and holes from every random-access format. */
@Timeout(120)
class ArchiveReadBackendTest {
    @TempDir
    Path tmp;
    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    private static final Content CONTENT = new Content(List.of("drive-scsi0", "drive-virtio1"),
            List.of(sparseDisk(6 << 20, 21), sparseDisk((2 << 20) + 777, 22)), List.of(), new byte[0]);

    /**
     * A VMA file's block status comes from its in-memory index: answered at once, on the caller's thread, never
     * queued on the read threads behind reads (the regression of the qcow2 restore after the ArchiveSource work); a
     * directory archive's needs I/O and goes to the read threads.
     */
    @ParameterizedTest
    @ValueSource(strings = {"vma", "dir"})
    void blockStatusFromMemoryNeverWaitsForTheReadThreads(String kind) throws Exception {
        Path p = tmp.resolve(kind.equals("dir") ? "archive" : "archive." + kind);
        write(ArchiveTarget.of(p), CONTENT);
        java.util.concurrent.atomic.AtomicInteger handed = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.Executor counting = r -> {
            handed.incrementAndGet();
            pool.execute(r);
        };
        try (ArchiveSource s = ArchiveSource.open(p)) {
            ArchiveReadBackend b = new ArchiveReadBackend(s.disk(0), counting);
            long at = 0;
            int calls = 0;
            while (at < b.size()) {
                var f = b.extents(at, b.size() - at);
                if (kind.equals("vma")) {
                    assertThat(f).as("answered at once").isDone();
                }
                at = f.join().get(0).end();
                calls++;
            }
            assertThat(calls).isGreaterThan(1);
            if (kind.equals("vma")) {
                assertThat(handed).as("block status handed to the read threads").hasValue(0);
            } else {
                assertThat(handed.get()).isPositive();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vma", "dir"})
    void readsAreTheDiskAndExtentsAreContiguousWithHolesReadingZero(String kind) throws Exception {
        Path p = tmp.resolve(kind.equals("dir") ? "archive" : "archive." + kind);
        write(ArchiveTarget.of(p), CONTENT);
        Random rnd = new Random(3);
        try (ArchiveSource s = ArchiveSource.open(p)) {
            for (int i = 0; i < CONTENT.disks().size(); i++) {
                byte[] image = CONTENT.disks().get(i);
                ArchiveReadBackend b = new ArchiveReadBackend(s.disk(i), pool);
                assertThat(b.size()).isEqualTo(image.length);
                assertThat(b.canWrite()).isFalse();
                assertThat(b.canExtents()).isTrue();
                for (int k = 0; k < 100; k++) {
                    int off = rnd.nextInt(image.length);
                    int len = Math.min(1 + rnd.nextInt(300_000), image.length - off);
                    ByteBuf buf = b.read(off, len).join();
                    try {
                        byte[] got = new byte[len];
                        buf.readBytes(got);
                        assertThat(got).as("%s disk %d read(%d, %d)", kind, i, off, len)
                                .isEqualTo(Arrays.copyOfRange(image, off, off + len));
                    } finally {
                        buf.release();
                    }
                }
                // walking the extents from 0 covers the disk exactly; every hole reads as zeros; holes exist
                long at = 0;
                long holes = 0;
                while (at < image.length) {
                    List<NbdExtent> ext = b.extents(at, image.length - at).join();
                    assertThat(ext).isNotEmpty();
                    for (NbdExtent e : ext) {
                        assertThat(e.offset()).isEqualTo(at);
                        if (e.hole()) {
                            assertThat(allZero(image, (int) e.offset(), (int) e.length()))
                                    .as("%s disk %d hole %d+%d", kind, i, e.offset(), e.length()).isTrue();
                            holes += e.length();
                        }
                        at = e.end();
                    }
                }
                assertThat(at).isEqualTo(image.length);
                assertThat(holes).as("the sparse disk has holes").isPositive();
                int off = rnd.nextInt(image.length);
                assertThat(b.extents(off, 1).join().get(0).offset()).isEqualTo(off);
                assertThat(b.extents(image.length, 10).join()).isEmpty();
            }
        }
    }

    @Test
    void aSequentialArchiveIsRefusedByNameAndNothingListens() throws Exception {
        Path zst = tmp.resolve("archive.vma.zst");
        write(ArchiveTarget.of(zst), CONTENT);
        Path sock = tmp.resolve("n.sock");
        assertThatThrownBy(() -> ArchiveExportServer.builder(zst).unixSocket(sock).start().join())
                .cause().isInstanceOf(BackupException.class).hasMessageContaining(zst.toString())
                .hasMessageContaining("needs random access");
        assertThat(sock).doesNotExist();
    }

    /** An archive whose disks fail at once: the background "scan" may end before the exports are even made. */
    private static ArchiveSource failingAtOnce() {
        return new ArchiveSource() {
            @Override
            public ArchiveLayout layout() {
                return CONTENT.layout();
            }

            @Override
            public boolean randomAccess() {
                return true;
            }

            @Override
            public void read(ArchiveVisitor visitor) throws java.io.IOException {
                throw new java.io.IOException("archive fake: truncated");
            }

            @Override
            public RandomAccessDisk disk(int index) throws java.io.IOException {
                throw new java.io.IOException("archive fake: truncated");
            }

            @Override
            public java.nio.channels.ReadableByteChannel vmstate() throws java.io.IOException {
                throw new java.io.IOException("archive fake: truncated");
            }

            @Override
            public String describe() {
                return "fake";
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void aBackgroundScanThatFailsAtOnceStillStartsTheServerAndFailsItsRequests() throws Exception {
        for (int i = 0; i < 20; i++) { // whichever ends first, the scan or the building of the exports
            Path sock = tmp.resolve("f" + i + ".sock");
            ArchiveExportServer s = ArchiveExportServer.builder(failingAtOnce()).unixSocket(sock)
                    .indexInBackground(true).start().join();
            try {
                assertThatThrownBy(() -> s.ready().join()).hasMessageContaining("archive fake: truncated");
                assertThat(s.server().exports()).containsExactlyInAnyOrder("drive-scsi0", "drive-virtio1");
            } finally {
                s.close().join();
            }
        }
    }

    @Test
    void aDirectoryArchiveIsServedWithItsDisksAsExports() throws Exception {
        Path dir = tmp.resolve("archive");
        write(ArchiveTarget.of(dir), CONTENT);
        ArchiveExportServer s = ArchiveExportServer.builder(dir).unixSocket(tmp.resolve("d.sock")).start().join();
        try {
            assertThat(s.disks()).isEqualTo(CONTENT.layout().disks());
            assertThat(s.server().exports()).containsExactlyInAnyOrder("drive-scsi0", "drive-virtio1");
            assertThat(s.ready()).isDone();
        } finally {
            s.close().join();
        }
    }
}
