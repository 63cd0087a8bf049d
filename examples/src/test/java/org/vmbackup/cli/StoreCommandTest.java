package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.DiskSpec;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.SnapshotSpec;
import org.vmbackup.store.SnapshotWriter;
import org.vmbackup.store.StoreKey;
import org.vmbackup.store.StoreOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code vmabackup store ...} given good and bad input: exit codes, exactly one line on stderr naming the problem in
 * words (no Java class names), and nothing created by a refused command. Paths are templates: {@code {d}} is a
 * temporary directory holding {@code plain} (a store with one snapshot, web1 at 2026-12-06T23:40:00Z), {@code enc}
 * (an encrypted store), {@code key} (its key), {@code other.key}, {@code text.txt} and {@code empty/}.
 */
class StoreCommandTest {
    private static final int USAGE = ExitCode.USAGE;
    private static final int FAILED = ExitCode.FAILED;
    private static final String ID = "web1/2026-12-06T23:40:00Z";

    @TempDir
    Path dir;
    @RegisterExtension
    final StdCapture std = new StdCapture();

    /** The store command under a root named like the real one, so messages read "store verify: ...". */
    @Command(name = "vmabackup", subcommands = StoreCommand.class)
    static final class Root implements Runnable {
        @Override
        public void run() {
        }
    }

    static int run(String... args) {
        CommandLine cli = new CommandLine(new Root());
        cli.setExecutionExceptionHandler(new FailureHandler());
        cli.setParameterExceptionHandler(new UsageErrorHandler());
        return cli.execute(args);
    }

    @BeforeEach
    void fixture() throws Exception {
        try (ChunkStore s = ChunkStore.init(dir.resolve("plain"), StoreOptions.defaults().withChunkSize(65536));
                SnapshotWriter w = s.create(SnapshotSpec.full(SnapshotId.parse(ID),
                        List.of(DiskSpec.full("drive-scsi0", 300_000)), false, Map.of("qemu-server.conf", "x".getBytes())))) {
            byte[] data = new byte[300_000];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (i * 31 + i / 7);
            }
            w.write(0, 0, ByteBuffer.wrap(data));
            w.commit();
        }
        StoreKey k = StoreKey.create(dir.resolve("key"));
        StoreKey.create(dir.resolve("other.key"));
        ChunkStore.init(dir.resolve("enc"), StoreOptions.defaults().withKey(k)).close();
        Files.writeString(dir.resolve("text.txt"), "not a store\n");
        Files.createDirectory(dir.resolve("empty"));
    }

    private String[] expand(String... args) {
        return Stream.of(args).map(a -> a.replace("{d}", dir.toString())).toArray(String[]::new);
    }

    static Stream<Arguments> badInput() {
        List<Arguments> c = new ArrayList<>();
        c.add(Arguments.of(USAGE, "--chunk-size: chunk size 1000 is not a power of two", List.of("store", "init", "{d}/new", "--chunk-size", "1000")));
        c.add(Arguments.of(USAGE, "not a size", List.of("store", "init", "{d}/new", "--chunk-size", "big")));
        c.add(Arguments.of(USAGE, "--compression: 'lz4' is not zstd or none", List.of("store", "init", "{d}/new", "--compression", "lz4")));
        c.add(Arguments.of(USAGE, "--compression-level: compression level 20 is not 1 to 19", List.of("store", "init", "{d}/new", "--compression-level", "20")));
        c.add(Arguments.of(USAGE, "--compression-level goes with --compression zstd, not none", List.of("store", "init", "{d}/new", "--compression", "none", "--compression-level", "3")));
        c.add(Arguments.of(FAILED, "^store init: store .*text\\.txt is a file, not a directory$", List.of("store", "init", "{d}/text.txt")));
        c.add(Arguments.of(FAILED, "^store init: store .*plain exists already$", List.of("store", "init", "{d}/plain")));
        c.add(Arguments.of(FAILED, "^store init: key file .*none\\.key: no such file$", List.of("store", "init", "{d}/new", "--encrypt", "{d}/none.key")));
        c.add(Arguments.of(FAILED, "^store init: key file .*text\\.txt: not a vmbackup store key$", List.of("store", "init", "{d}/new", "--encrypt", "{d}/text.txt")));
        c.add(Arguments.of(FAILED, "^store key create: key file .*key exists already \\(a key is never overwritten\\)$", List.of("store", "key", "create", "{d}/key")));
        c.add(Arguments.of(USAGE, "missing subcommand", List.of("store", "key")));
        c.add(Arguments.of(FAILED, "^store list: store .*none: no such directory$", List.of("store", "list", "{d}/none")));
        c.add(Arguments.of(FAILED, "^store list: store .*empty is not a chunk store \\(it has no config\\)$", List.of("store", "list", "{d}/empty")));
        c.add(Arguments.of(FAILED, "^store list: store .*enc is encrypted: give its key file \\(--key FILE\\)$", List.of("store", "list", "{d}/enc")));
        c.add(Arguments.of(FAILED, "^store list: store .*enc: wrong key", List.of("store", "list", "{d}/enc", "--key", "{d}/other.key")));
        c.add(Arguments.of(FAILED, "^store list: store .*plain is not encrypted, but a key was given$", List.of("store", "list", "{d}/plain", "--key", "{d}/key")));
        c.add(Arguments.of(USAGE, "--vm: VM name '\\.\\./x'", List.of("store", "list", "{d}/plain", "--vm", "../x")));
        c.add(Arguments.of(USAGE, "'yesterday' is not a UTC instant", List.of("store", "verify", "{d}/plain", "web1/yesterday")));
        c.add(Arguments.of(FAILED, "^store verify: store .*plain is damaged: web1/2026-12-07T00:00:00Z: .*manifest: snapshot web1/2026-12-07T00:00:00Z does not exist",
                List.of("store", "verify", "{d}/plain", "web1/2026-12-07T00:00:00Z")));
        c.add(Arguments.of(USAGE, "--keep-last", List.of("store", "prune", "{d}/plain", "--vm", "web1")));
        c.add(Arguments.of(USAGE, "must keep at least one", List.of("store", "prune", "{d}/plain", "--vm", "web1", "--keep-last", "0")));
        c.add(Arguments.of(USAGE, "must not be negative", List.of("store", "prune", "{d}/plain", "--vm", "web1", "--keep-last", "-1")));
        c.add(Arguments.of(FAILED, "^store gc: store .*text\\.txt is a file, not a directory$", List.of("store", "gc", "{d}/text.txt")));
        return c.stream();
    }

    @ParameterizedTest
    @MethodSource("badInput")
    void badInputIsOneLineInWordsAndCreatesNothing(int code, String pattern, List<String> args) throws Exception {
        List<String> before;
        try (Stream<Path> s = Files.walk(dir)) {
            before = s.map(Path::toString).sorted().toList();
        }
        assertThat(run(expand(args.toArray(String[]::new)))).isEqualTo(code);
        String err = std.err.toString(StandardCharsets.UTF_8);
        assertThat(err.lines().count()).as(err).isEqualTo(1);
        assertThat(err.strip()).containsPattern(pattern).doesNotContainPattern("[a-z]+\\.[a-z]+\\.[A-Z]\\w*(Exception|Error)")
                .doesNotContain("Exception");
        if (code == USAGE) {
            assertThat(err).contains("(see 'vmabackup store");
        }
        try (Stream<Path> s = Files.walk(dir)) {
            assertThat(s.map(Path::toString).sorted().toList()).isEqualTo(before);
        }
    }

    @Test
    void initListVerifyPruneGcWork() throws Exception {
        assertThat(run(expand("store", "key", "create", "{d}/new.key"))).isZero();
        assertThat(run(expand("store", "init", "{d}/new", "--chunk-size", "256K", "--encrypt", "{d}/new.key"))).isZero();
        try (ChunkStore s = ChunkStore.open(dir.resolve("new"), Optional.of(StoreKey.load(dir.resolve("new.key"))))) {
            assertThat(s.chunkSize()).isEqualTo(256 << 10);
            assertThat(s.encrypted()).isTrue();
        }
        assertThat(run(expand("store", "init", "{d}/raw", "--compression", "none"))).isZero();
        assertThat(std.out.toString(StandardCharsets.UTF_8)).endsWith("(chunk size 1048576 bytes, not encrypted, not compressed)" + System.lineSeparator());
        assertThat(run(expand("store", "init", "{d}/z9", "--compression-level", "9"))).isZero();
        assertThat(std.out.toString(StandardCharsets.UTF_8)).endsWith("(chunk size 1048576 bytes, not encrypted, zstd level 9)" + System.lineSeparator());
        try (ChunkStore raw = ChunkStore.open(dir.resolve("raw"));
                ChunkStore z9 = ChunkStore.open(dir.resolve("z9"))) {
            assertThat(raw.compressionLevel()).isEqualTo(StoreOptions.NO_COMPRESSION);
            assertThat(z9.compressionLevel()).isEqualTo(9);
        }
        std.out.reset();
        assertThat(run(expand("store", "list", "{d}/plain", "--vm", "web1"))).isZero();
        String out = std.out.toString(StandardCharsets.UTF_8);
        assertThat(out).containsPattern("web1/2026-12-06T23:40:00Z +1 +300000 +[1-9][0-9]*");
        assertThat(run(expand("store", "verify", "{d}/plain", ID))).isZero();
        assertThat(std.out.toString(StandardCharsets.UTF_8)).contains("checked 1 snapshots, 6 chunks, 300001 bytes: ok");
        assertThat(std.err.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThat(run(expand("store", "verify", "{d}/plain", "--progress"))).isZero();
        assertThat(std.err.toString(StandardCharsets.UTF_8)).isEqualTo(
                "verified 1 of 1: " + ID + " (6 chunks, 0 MiB checked so far)" + System.lineSeparator());
        std.err.reset();
        try (ChunkStore s = ChunkStore.open(dir.resolve("plain"), Optional.empty());
                SnapshotWriter w = s.create(SnapshotSpec.full(new SnapshotId("web1", Instant.parse("2026-12-07T23:40:00Z")),
                        List.of(), false, Map.of()))) {
            w.commit();
        }
        assertThat(run(expand("store", "prune", "{d}/plain", "--vm", "web1", "--keep-last", "1", "--dry-run"))).isZero();
        assertThat(std.out.toString(StandardCharsets.UTF_8)).contains("would remove " + ID);
        assertThat(run(expand("store", "prune", "{d}/plain", "--vm", "web1", "--keep-last", "1"))).isZero();
        assertThat(std.out.toString(StandardCharsets.UTF_8)).contains("remove " + ID).contains("keep   web1/2026-12-07T23:40:00Z");
        assertThat(run(expand("store", "gc", "{d}/plain"))).isZero();
        assertThat(std.out.toString(StandardCharsets.UTF_8)).containsPattern("gc: 0 chunks in use, 0 removed \\(0 bytes\\), [1-9][0-9]* unused but spared");
        assertThat(std.err.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void aBandwidthLimitForADirectoryStoreIsRefusedInOneLine() throws Exception {
        assertThat(run(expand("store", "verify", "{d}/plain", "--bwlimit", "1M"))).isEqualTo(FAILED);
        String err = std.err.toString(StandardCharsets.UTF_8);
        assertThat(err.lines().count()).isEqualTo(1);
        assertThat(err).startsWith("store verify: ").contains("--bwlimit limits transfers to and from an s3:// store; "
                + dir.resolve("plain") + " is a directory");
    }

    @Test
    void verifyOfADamagedStoreExitsOneNamingTheChunk() throws Exception {
        Path chunk;
        try (Stream<Path> s = Files.walk(dir.resolve("plain/chunks"))) {
            chunk = s.filter(Files::isRegularFile).sorted().findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(chunk);
        b[b.length / 2] ^= 1;
        Files.write(chunk, b);
        assertThat(run(expand("store", "verify", "{d}/plain"))).isEqualTo(FAILED);
        String err = std.err.toString(StandardCharsets.UTF_8);
        assertThat(err.lines().count()).isEqualTo(1);
        assertThat(err).startsWith("store verify: store " + dir.resolve("plain") + " is damaged: " + ID + ": chunks/")
                .contains(chunk.getFileName().toString()).contains("drive-scsi0");
        assertThat(std.out.toString(StandardCharsets.UTF_8)).contains("damaged: " + ID).contains("1 problems");
    }

    @Test
    void listOfAStoreWithADamagedManifestListsTheOthersAndExitsOne() throws Exception {
        String later = "web1/2026-12-07T00:00:00Z";
        try (ChunkStore s = ChunkStore.open(dir.resolve("plain"), java.util.Optional.empty());
                SnapshotWriter w = s.create(SnapshotSpec.full(SnapshotId.parse(later),
                        List.of(DiskSpec.full("drive-scsi0", 4096)), false, Map.of()))) {
            w.write(0, 0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            w.commit();
        }
        Path manifest;
        try (Stream<Path> s = Files.walk(dir.resolve("plain/snapshots"))) {
            manifest = s.filter(p -> p.toString().contains("23:40") && p.getFileName().toString().startsWith("manifest"))
                    .findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(manifest);
        b[10] ^= 0x40;
        Files.write(manifest, b);
        assertThat(run(expand("store", "list", "{d}/plain"))).isEqualTo(FAILED);
        String err = std.err.toString(StandardCharsets.UTF_8);
        assertThat(err.lines().count()).isEqualTo(1);
        assertThat(err).startsWith("store list: store " + dir.resolve("plain") + " is damaged: snapshot " + ID
                + ": manifest is damaged");
        assertThat(std.out.toString(StandardCharsets.UTF_8)).contains(later).contains("damaged: snapshot " + ID)
                .doesNotContain(ID + "      ");
    }
}
