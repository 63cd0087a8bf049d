package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.vma.VmaArchiveSink;
import org.vmbackup.nbd.NbdWriteTarget;
import org.vmbackup.vma.VmaIndex;

/**
 * The backup export's zero-copy path into a real VMA archive: whole clusters are offered as write targets backed
 * by the writer's extent buffers, what is filled and committed is in the archive, anything else falls back to
 * ordinary writes, and a write abandoned mid-payload fails the archive with the disk and offset named.
 */
class InPlaceArchiveWriteTest {
    private static final int CLUSTER = 65536;

    @TempDir
    Path dir;

    private final ExecutorService exec = Executors.newFixedThreadPool(2);
    private final List<BackupException> failures = new ArrayList<>();

    @AfterEach
    void stop() {
        exec.shutdownNow();
    }

    private static void fill(NbdWriteTarget t, byte[] src, int from) {
        int at = from;
        for (ByteBuffer b : t.buffers()) {
            int n = b.remaining();
            b.put(src, at, n);
            at += n;
        }
    }

    @Test
    void wholeClustersAreReceivedIntoTheArchiveAndTheRestIsWrittenNormally() throws Exception {
        int size = 40 * CLUSTER;
        byte[] img = new byte[size];
        new Random(3).nextBytes(img);
        java.util.Arrays.fill(img, 5 * CLUSTER, 6 * CLUSTER, (byte) 0); // a zero cluster written as data
        Path archive = dir.resolve("a.vma");
        VmaArchiveSink sink = VmaArchiveSink.open(archive, new ArchiveLayout(UUID.randomUUID(), Instant.now(),
                List.of(new ArchiveDisk("drive-hd0", size)), 0, List.of()));
        DiskCounters counters = new DiskCounters();
        ArchiveExportBackend backend = new ArchiveExportBackend(sink, 0, new ArchiveDisk("drive-hd0", size), exec,
                counters, new GuestFirstGuard(java.time.Duration.ofSeconds(30), failures::add), new PauseStaging(0));

        assertThat(backend.writeTarget(100, CLUSTER)).as("not cluster aligned").isNull();
        NbdWriteTarget first = backend.writeTarget(0, 16 * CLUSTER);
        NbdWriteTarget second = backend.writeTarget(16 * CLUSTER, 16 * CLUSTER);
        assertThat(first).isNotNull();
        assertThat(second).isNotNull();
        fill(second, img, 16 * CLUSTER);
        fill(first, img, 0);
        second.commit(false).get(5, TimeUnit.SECONDS);
        first.commit(false).get(5, TimeUnit.SECONDS);
        // the tail through the ordinary path (as the server does when no target is offered)
        backend.write(32 * CLUSTER, Unpooled.wrappedBuffer(img, 32 * CLUSTER, 8 * CLUSTER), false)
                .get(5, TimeUnit.SECONDS);
        sink.commit();

        assertThat(failures).isEmpty();
        assertThat(counters.dataBytes()).isEqualTo(size);
        try (VmaIndex idx = VmaIndex.open(archive)) {
            ByteBuffer back = ByteBuffer.allocate(size);
            idx.read(idx.devices().get(0), 0, back);
            assertThat(back.array()).isEqualTo(img);
            assertThat(idx.blockStatus(idx.devices().get(0), 5L * CLUSTER, CLUSTER).zero())
                    .as("the zero cluster costs nothing in the archive").isTrue();
        }
        assertThat(Files.size(archive)).isLessThan(size);
    }

    @Test
    void aWriteAbandonedMidPayloadFailsTheArchiveNamingDiskAndOffset() throws Exception {
        int size = 4 * CLUSTER;
        Path archive = dir.resolve("b.vma");
        VmaArchiveSink sink = VmaArchiveSink.open(archive, new ArchiveLayout(UUID.randomUUID(), Instant.now(),
                List.of(new ArchiveDisk("drive-hd0", size)), 0, List.of()));
        ArchiveExportBackend backend = new ArchiveExportBackend(sink, 0, new ArchiveDisk("drive-hd0", size), exec,
                new DiskCounters(), new GuestFirstGuard(java.time.Duration.ofSeconds(30), failures::add),
                new PauseStaging(0));
        NbdWriteTarget t = backend.writeTarget(CLUSTER, 2 * CLUSTER);
        t.buffers().get(0).put(new byte[1000]);
        t.abandon();
        assertThat(failures).singleElement().satisfies(e -> assertThat(e.getMessage())
                .contains("drive-hd0").contains("offset " + CLUSTER));
        assertThatThrownBy(sink::commit).hasMessageContaining("abandoned");
        sink.abort();
        assertThat(archive).doesNotExist();
    }
}
