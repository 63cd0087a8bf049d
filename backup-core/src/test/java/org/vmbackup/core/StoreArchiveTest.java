package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotInfo;
import org.vmbackup.store.StoreKey;
import org.vmbackup.store.StoreOptions;

/**
 * The chunk store through the archive pair: a sink writing a snapshot the way a backup does, the snapshot read back
 * as a source (sequential and random access), and {@link ArchiveCopy} between the store and VMA in both directions.
 */
class StoreArchiveTest {
    @TempDir
    Path tmp;

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static ArchiveSourceFixtures.Content content(long seed) {
        return new ArchiveSourceFixtures.Content(List.of("drive-a", "drive-b"),
                List.of(ArchiveSourceFixtures.sparseDisk(5 * 1048576 + 4608, seed),
                        ArchiveSourceFixtures.random(3 * 1048576 + 512, seed + 1)),
                List.of(new ConfigBlob("vm.json", "{\"x\":1}".getBytes()), new ConfigBlob("empty.conf", new byte[0])),
                ArchiveSourceFixtures.random(2_500_001, seed + 2));
    }

    private static void assertSame(ArchiveSource s, ArchiveSourceFixtures.Content c) throws Exception {
        assertThat(s.layout().disks()).extracting(ArchiveDisk::name).containsExactlyElementsOf(c.names());
        assertThat(s.layout().configs()).extracting(ConfigBlob::name)
                .containsExactlyElementsOf(c.configs().stream().map(ConfigBlob::name).toList());
        for (int i = 0; i < c.configs().size(); i++) {
            assertThat(s.layout().configs().get(i).content()).isEqualTo(c.configs().get(i).content());
        }
        ArchiveSourceFixtures.Read r = ArchiveSourceFixtures.readAll(s);
        for (int i = 0; i < c.disks().size(); i++) {
            assertThat(sha256(r.disks().get(i))).as(c.names().get(i)).isEqualTo(sha256(c.disks().get(i)));
        }
        assertThat(sha256(r.vmstate())).isEqualTo(sha256(c.vmstate()));
    }

    @Test
    void aSnapshotWrittenLikeABackupReadsBackExactlySequentiallyAndByRandomAccess() throws Exception {
        ArchiveSourceFixtures.Content c = content(7);
        try (ChunkStore store = ChunkStore.init(tmp.resolve("store"), StoreOptions.defaults())) {
            StoreTarget target = ArchiveTarget.store(store, "web1");
            ArchiveSourceFixtures.write(target, c);
            SnapshotInfo info = target.committed().orElseThrow();
            assertThat(info.id()).isEqualTo(SnapshotId.parse("web1/2026-12-01T12:00:00Z"));
            assertThat(store.list(Optional.of("web1"))).extracting(SnapshotInfo::id).containsExactly(info.id());
            try (ArchiveSource s = ArchiveSource.snapshot(store, info.id())) {
                assertThat(s.randomAccess()).isTrue();
                assertThat(s.describe()).contains("web1/2026-12-01T12:00:00Z");
                assertThat(s.layout().vmstateEstimate()).isEqualTo(c.vmstate().length);
                assertSame(s, c);
                for (int i = 0; i < c.disks().size(); i++) {
                    assertThat(ArchiveSourceFixtures.readRandomAccess(s, i)).isEqualTo(c.disks().get(i));
                }
                assertThat(ArchiveSourceFixtures.readChannel(s.vmstate())).isEqualTo(c.vmstate());
                RandomAccessDisk a = s.disk(0);
                BlockStatus first = a.blockStatus(0, a.disk().size());
                assertThat(first.offset()).isZero();
                assertThat(first.length()).isPositive();
            }
        }
    }

    @Test
    void everyReferenceVectorGoesIntoTheStoreAndBackOutAsAVmaTheSame() throws Exception {
        for (Map.Entry<String, List<RestoreVectors.Device>> e : RestoreVectors.expected().entrySet()) {
            String name = e.getKey();
            try (ChunkStore store = ChunkStore.init(tmp.resolve("s-" + name), StoreOptions.defaults());
                    ArchiveSource vma = ArchiveSource.open(RestoreVectors.dir().resolve(name))) {
                StoreTarget target = ArchiveTarget.store(store, "vm");
                assertThat(ArchiveCopy.copy(vma, target)).contains("in store");
                SnapshotId id = target.committed().orElseThrow().id();
                for (String out : List.of("out.vma", "out.vma.zst")) {
                    Path exported = tmp.resolve(name + "-" + out);
                    List<RestoreProgress> seen = new java.util.ArrayList<>();
                    try (ArchiveSource snap = ArchiveSource.snapshot(store, id)) {
                        ArchiveCopy.copy(snap, ArchiveTarget.vma(exported), seen::add);
                    }
                    // the last report: every disk whole, and nothing counted twice before it
                    RestoreProgress end = seen.get(seen.size() - 1);
                    assertThat(end.finished()).isTrue();
                    assertThat(end.disks()).extracting(DiskProgress::doneBytes)
                            .containsExactlyElementsOf(e.getValue().stream().map(RestoreVectors.Device::size).toList());
                    assertThat(seen).allSatisfy(p -> assertThat(p.doneBytes()).isLessThanOrEqualTo(p.totalBytes()));
                    try (ArchiveSource back = ArchiveSource.open(exported)) {
                        List<byte[]> disks = ArchiveSourceFixtures.readAll(back).disks();
                        assertThat(back.layout().disks()).hasSameSizeAs(e.getValue());
                        for (int i = 0; i < disks.size(); i++) {
                            RestoreVectors.Device d = e.getValue().get(i);
                            assertThat(back.layout().disk(i).name()).isEqualTo(d.name());
                            assertThat(back.layout().disk(i).size()).isEqualTo(d.size());
                            assertThat(sha256(disks.get(i))).as(name + " " + d.name()).isEqualTo(d.sha256());
                        }
                        assertThat(back.layout().configs()).extracting(ConfigBlob::name)
                                .contains("qemu-server.conf");
                    }
                }
            }
        }
    }

    @Test
    void anEncryptedStoreNeedsItsKeyAndAFlippedChunkByteFailsTheReadNamingTheChunk() throws Exception {
        ArchiveSourceFixtures.Content c = content(11);
        StoreKey key = StoreKey.create(tmp.resolve("key"));
        Path dir = tmp.resolve("enc");
        SnapshotId id;
        try (ChunkStore store = ChunkStore.init(dir, StoreOptions.defaults().withKey(key))) {
            StoreTarget target = ArchiveTarget.store(store, "db");
            ArchiveSourceFixtures.write(target, c);
            id = target.committed().orElseThrow().id();
            try (ArchiveSource s = ArchiveSource.snapshot(store, id)) {
                assertSame(s, c);
            }
        }
        assertThatThrownBy(() -> ChunkStore.open(dir, Optional.empty())).isInstanceOf(IOException.class)
                .hasMessageContaining("key");
        Path chunk;
        try (Stream<Path> s = Files.walk(dir.resolve("chunks"))) {
            chunk = s.filter(Files::isRegularFile).findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(chunk);
        b[b.length / 2] ^= 0x01;
        Files.write(chunk, b);
        // the flipped chunk may hold disk data, the VM state or a config blob (read when the snapshot opens)
        try (ChunkStore store = ChunkStore.open(dir, Optional.of(key))) {
            assertThatThrownBy(() -> {
                try (ArchiveSource s = ArchiveSource.snapshot(store, id)) {
                    ArchiveSourceFixtures.readAll(s);
                }
            }).isInstanceOf(IOException.class).hasMessageContaining(chunk.getFileName().toString().substring(0, 12));
            Path out = tmp.resolve("never.vma");
            assertThatThrownBy(() -> {
                try (ArchiveSource again = ArchiveSource.snapshot(store, id)) {
                    ArchiveCopy.copy(again, ArchiveTarget.vma(out));
                }
            }).isInstanceOf(IOException.class);
            assertThat(out).doesNotExist();
            try (Stream<Path> left = Files.list(tmp)) {
                assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("never"));
            }
        }
    }

    @Test
    void aSecondBackupOfTheSameContentAddsNoChunks() throws Exception {
        ArchiveSourceFixtures.Content c = content(3);
        try (ChunkStore store = ChunkStore.init(tmp.resolve("dedup"), StoreOptions.defaults())) {
            StoreTarget a = ArchiveTarget.store(store, "a");
            ArchiveSourceFixtures.write(a, c);
            StoreTarget b = ArchiveTarget.store(store, "b");
            ArchiveSourceFixtures.write(b, c);
            assertThat(a.committed().orElseThrow().bytesNew()).isPositive();
            assertThat(b.committed().orElseThrow().bytesNew()).isZero();
        }
    }
}
