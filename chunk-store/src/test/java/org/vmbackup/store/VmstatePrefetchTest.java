package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SnapshotReader#prefetchVmstate()}: the same bytes, and damage is still found and named. */
class VmstatePrefetchTest {
    @TempDir
    Path tmp;
    private Path dir;
    private byte[] vmstate;
    private final SnapshotId id = StoreFixtures.id("web1", 0);

    /** A snapshot with an empty disk, so that every chunk file holds VM state. */
    @BeforeEach
    void store() throws Exception {
        dir = tmp.resolve("s");
        vmstate = StoreFixtures.image(new Random(5), 9 * StoreFixtures.SMALL_CHUNK + 77);
        try (ChunkStore s = ChunkStore.init(dir, StoreOptions.defaults().withChunkSize(StoreFixtures.SMALL_CHUNK));
                SnapshotWriter w = s.create(SnapshotSpec.full(id, List.of(DiskSpec.full("drive-0", 0)), true,
                        Map.of()))) {
            StoreFixtures.writeAll(w, List.of(new byte[0]), new Random(1), 1);
            try (WritableByteChannel ch = w.vmstateChannel()) {
                ch.write(ByteBuffer.wrap(vmstate));
            }
            w.commit();
        }
    }

    private byte[] readPrefetched() throws IOException {
        try (ChunkStore s = ChunkStore.open(dir, Optional.empty()); SnapshotReader r = s.open(id)) {
            r.prefetchVmstate();
            r.prefetchVmstate(); // a second call adds nothing
            return StoreFixtures.readStream(r.vmstate());
        }
    }

    @Test
    void thePrefetchedStateReadsBackExactly() throws Exception {
        assertThat(readPrefetched()).isEqualTo(vmstate);
    }

    @Test
    void aDamagedChunkIsStillAnErrorNamingItsPlace() throws Exception {
        List<Path> chunks;
        try (Stream<Path> s = Files.walk(dir.resolve("chunks"))) {
            chunks = s.filter(Files::isRegularFile).toList();
        }
        assertThat(chunks).isNotEmpty();
        for (Path c : chunks) {
            byte[] b = Files.readAllBytes(c);
            b[b.length - 1] ^= 0x40;
            Files.write(c, b);
        }
        assertThatThrownBy(this::readPrefetched).isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("snapshot " + id + ", VM state offset ");
    }

    @Test
    void aDamagedIndexIsReportedByTheRead() throws Exception {
        Path index;
        try (Stream<Path> s = Files.walk(dir.resolve("snapshots"))) {
            index = s.filter(p -> p.getFileName().toString().equals("vmstate.didx")).findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(index);
        b[b.length / 2] ^= 0x40;
        Files.write(index, b);
        assertThatThrownBy(this::readPrefetched).isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("index of VM state");
    }
}
