package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The directory backend's contract: put-if-absent touches, atomic publish, listing, the gc's conditional delete. */
class LocalBackendTest {
    @TempDir
    Path tmp;

    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes());
    }

    private static String text(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return new String(a);
    }

    @Test
    void putIfAbsentStoresOnceAndTouchesAfterwards() throws Exception {
        LocalBackend b = new LocalBackend(tmp);
        assertThat(b.putIfAbsent("chunks/abc/x", bytes("one"))).isTrue();
        Files.setLastModifiedTime(tmp.resolve("chunks/abc/x"), FileTime.from(Instant.now().minus(Duration.ofHours(2))));
        Instant before = Instant.now().minusSeconds(2);
        assertThat(b.putIfAbsent("chunks/abc/x", bytes("two"))).isFalse();
        assertThat(text(b.get("chunks/abc/x").orElseThrow())).isEqualTo("one");
        assertThat(b.stat("chunks/abc/x").orElseThrow().lastTouched()).isAfter(before);
        assertThat(text(b.get("chunks/abc/x", 1, 10).orElseThrow())).isEqualTo("ne");
        assertThat(b.get("chunks/abc/none")).isEmpty();
        assertThat(b.touch("chunks/abc/none")).isFalse();
        b.publish("snapshots/v/t/manifest", bytes("m1"));
        b.publish("snapshots/v/t/manifest", bytes("m2"));
        assertThat(text(b.get("snapshots/v/t/manifest").orElseThrow())).isEqualTo("m2");
        assertThat(b.list("snapshots/")).containsExactly("snapshots/v/t/manifest");
        assertThat(b.list("chunks/")).containsExactly("chunks/abc/x");
        assertThat(b.list("nothing/")).isEmpty();
        assertThatThrownBy(() -> b.get("../etc/passwd")).isInstanceOf(IllegalArgumentException.class);
        b.delete("snapshots/v/t/manifest");
        assertThat(Files.exists(tmp.resolve("snapshots/v"))).isFalse();
    }

    @Test
    void anUnsyncedPutReplacesAChunkCutShortByACrashAndSyncSkipsNamesGoneMeanwhile() throws Exception {
        LocalBackend b = new LocalBackend(tmp);
        Files.createDirectories(tmp.resolve("chunks/abc"));
        Files.write(tmp.resolve("chunks/abc/torn"), new byte[0]); // renamed into place, data lost in the power cut
        assertThat(b.putIfAbsentUnsynced("chunks/abc/torn", bytes("whole"))).isTrue();
        assertThat(text(b.get("chunks/abc/torn").orElseThrow())).isEqualTo("whole");
        assertThat(b.putIfAbsentUnsynced("chunks/abc/torn", bytes("again"))).isFalse();
        assertThat(text(b.get("chunks/abc/torn").orElseThrow())).isEqualTo("whole");
        b.sync(java.util.List.of("chunks/abc/torn", "chunks/abc/gone", "chunks/def/gone"));
        assertThat(b.list("chunks/")).containsExactly("chunks/abc/torn");
    }

    @Test
    void syncOfAChunkAGcHoldsMovedAsideMakesItDurableUnderItsNameInsteadOfSkippingIt() throws Exception {
        LocalBackend b = new LocalBackend(tmp);
        assertThat(b.putIfAbsentUnsynced("chunks/abc/x", bytes("one"))).isTrue();
        // a gc between its two renames of a chunk it keeps (deleteIfUntouchedSince of a chunk touched since the cutoff)
        Files.move(tmp.resolve("chunks/abc/x"), tmp.resolve("chunks/abc/.gc-x-1234"));
        b.sync(java.util.List.of("chunks/abc/x"));
        // skipped, the chunk would go back unsynced and the manifest after this sync could reach a chunk lost in a power cut
        assertThat(Files.exists(tmp.resolve("chunks/abc/.gc-x-1234"))).isFalse();
        assertThat(Files.readString(tmp.resolve("chunks/abc/x"))).isEqualTo("one");
    }

    @Test
    void aTouchPutsBackAChunkAKilledGcLeftAside() throws Exception {
        LocalBackend b = new LocalBackend(tmp);
        assertThat(b.putIfAbsent("chunks/abc/y", bytes("parent"))).isTrue();
        Files.move(tmp.resolve("chunks/abc/y"), tmp.resolve("chunks/abc/.gc-y-99"));
        assertThat(b.touch("chunks/abc/y")).isTrue();
        assertThat(Files.readString(tmp.resolve("chunks/abc/y"))).isEqualTo("parent");
        assertThat(b.touch("chunks/abc/never")).isFalse();
    }

    @Test
    void alignedDirectBuffersOfAnyLengthAreWrittenWholeIntoDirectoriesMadeOnDemand() throws Exception {
        LocalBackend b = new LocalBackend(tmp);
        java.util.Random r = new java.util.Random(7);
        // lengths: several blocks and a tail, whole blocks only, under one block; starts aligned and not aligned
        int[] lengths = {3 * 4096 + 100, 2 * 4096, 100, 1 << 20, (1 << 20) + 16 - 12345};
        int[] starts = {0, 0, 0, 0, 1};
        for (int i = 0; i < lengths.length; i++) {
            byte[] want = new byte[lengths[i]];
            r.nextBytes(want);
            ByteBuffer buf = ByteBuffer.allocateDirect(lengths[i] + 2 * ChunkCodec.ALIGN).alignedSlice(ChunkCodec.ALIGN);
            buf.position(starts[i]).put(want).flip().position(starts[i]);
            String name = "chunks/" + String.format("%03x", i) + "/c" + i;
            assertThat(i % 2 == 0 ? b.putIfAbsentUnsynced(name, buf) : b.putIfAbsent(name, buf)).isTrue();
            assertThat(buf.position()).isEqualTo(starts[i]); // not consumed
            ByteBuffer got = b.get(name).orElseThrow();
            byte[] have = new byte[got.remaining()];
            got.get(have);
            assertThat(have).as("object %d of %d bytes", i, lengths[i]).isEqualTo(want);
        }
        try (var s = Files.walk(tmp)) {
            assertThat(s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList()).isEmpty();
        }
        String type = Files.getFileStore(tmp).type();
        if (type.equals("ext4") || type.equals("xfs") || type.equals("btrfs")) {
            assertThat(b.directAlign()).as("O_DIRECT still in use on %s", type).isGreaterThanOrEqualTo(512);
        }
    }

    @Test
    void deleteIfUntouchedSinceKeepsTouchedObjectsAndAMovedAsideChunkComesBackOnRead() throws Exception {
        LocalBackend b = new LocalBackend(tmp);
        b.putIfAbsent("chunks/abc/old", bytes("old"));
        b.putIfAbsent("chunks/abc/new", bytes("new"));
        Files.setLastModifiedTime(tmp.resolve("chunks/abc/old"), FileTime.from(Instant.now().minus(Duration.ofHours(2))));
        Instant cutoff = Instant.now().minus(Duration.ofHours(1));
        assertThat(b.deleteIfUntouchedSince("chunks/abc/new", cutoff)).isEqualTo(-1);
        assertThat(b.deleteIfUntouchedSince("chunks/abc/old", cutoff)).isEqualTo(3);
        assertThat(b.list("chunks/")).containsExactly("chunks/abc/new");
        assertThat(b.deleteIfUntouchedSince("chunks/abc/old", cutoff)).isEqualTo(-1);
        // a gc killed after moving a chunk aside: the next read puts it back
        Files.move(tmp.resolve("chunks/abc/new"), tmp.resolve("chunks/abc/.gc-new-1234"));
        assertThat(b.list("chunks/")).isEmpty();
        assertThat(text(b.get("chunks/abc/new").orElseThrow())).isEqualTo("new");
        assertThat(b.list("chunks/")).containsExactly("chunks/abc/new");
    }

    @Test
    void aFileOrMissingDirectoryIsRefused() throws Exception {
        Files.writeString(tmp.resolve("f"), "x");
        assertThatThrownBy(() -> new LocalBackend(tmp.resolve("f"))).hasMessage("store " + tmp.resolve("f") + " is a file, not a directory");
        assertThatThrownBy(() -> new LocalBackend(tmp.resolve("m"))).hasMessage("store " + tmp.resolve("m") + ": no such directory");
    }
}
