package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;

/**
 * The launcher {@code examples/vmabackup} and its class-data-sharing cache: the first run of a subcommand records an
 * archive (on JDK 25+ an AOT cache), published only once complete; later runs map it; a rebuilt jar replaces its
 * own (and only its own) archive; any problem with the cache falls back to a plain start, silently.
 */
class LauncherCdsIT {
    private static final Path LAUNCHER = Path.of("vmabackup").toAbsolutePath();
    private static final Path JAR = Path.of("target/vmabackup.jar").toAbsolutePath();

    @TempDir
    Path tmp;

    /** One launcher run: exit code, stdout, stderr. */
    private record Run(int exit, String out, String err) {
    }

    private Run launch(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessResult r = ProcessRunner.command(cmd).env("JAVA_OPTS", null).env("JAVA_TOOL_OPTIONS", null)
                .env("VMABACKUP_CDS", null).env(env).timeout(Duration.ofSeconds(60)).run();
        return new Run(r.exitCode(), r.stdout(), r.stderr());
    }

    private static List<Path> archives(Path cache, String glob) throws IOException {
        if (!Files.isDirectory(cache)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(cache)) {
            return s.filter(f -> f.getFileSystem().getPathMatcher("glob:" + glob).matches(f.getFileName())).sorted()
                    .toList();
        }
    }

    /**
     * Waits until the launcher's background publisher has put exactly one archive matching glob (and not the
     * excluded glob, given as "!glob") into cache, and no temporary file is left.
     */
    private static Path awaitArchive(Path cache, String glob, String... not) throws Exception {
        for (int i = 0; i < 300; i++) {
            List<Path> found = archives(cache, glob).stream().filter(f -> not.length == 0
                    || !f.getFileSystem().getPathMatcher("glob:" + not[0].substring(1)).matches(f.getFileName()))
                    .toList();
            if (found.size() == 1 && archives(cache, ".*.tmp").isEmpty()) {
                return found.get(0);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no archive " + glob + " in " + cache + ": " + archives(cache, "*"));
    }

    @Test
    void firstRunRecordsAnArchiveTheNextRunMapsAndANewJarReplaces() throws Exception {
        assertThat(JAR).as("built by the package phase").exists();
        Path cache = tmp.resolve("cache");
        Run first = launch(Map.of("VMABACKUP_CACHE", cache.toString()), "--version");
        assertThat(first.exit()).isZero();
        assertThat(first.out()).startsWith("vmabackup ");
        assertThat(first.err()).isEmpty();
        Path jsa = awaitArchive(cache, "cds-none-*-*.jsa");

        Path classes = tmp.resolve("classes.txt");
        Run second = launch(Map.of("VMABACKUP_CACHE", cache.toString(), "JAVA_TOOL_OPTIONS",
                "-Xlog:class+load:file=" + classes), "--version");
        assertThat(second.exit()).isZero();
        assertThat(second.out()).isEqualTo(first.out());
        assertThat(Files.readString(classes)).contains("org.vmbackup.cli.VmaBackupCli source: shared objects file");

        // another subcommand gets its own archive, next to the first
        assertThat(launch(Map.of("VMABACKUP_CACHE", cache.toString()), "vma", "--help").exit()).isZero();
        awaitArchive(cache, "cds-vma-*-*.jsa");
        assertThat(jsa).exists();

        // another install (a jar elsewhere) gets its own archive and leaves this one alone
        Path copy = tmp.resolve("vmabackup.jar");
        Files.copy(JAR, copy);
        Map<String, String> other = Map.of("VMABACKUP_CACHE", cache.toString(), "VMABACKUP_JAR", copy.toString());
        Run elsewhere = launch(other, "--version");
        assertThat(elsewhere.exit()).isZero();
        assertThat(elsewhere.err()).isEmpty();
        String slot = jsa.getFileName().toString().replaceAll("-[0-9]+\\.jsa$", "");
        Path copyJsa = awaitArchive(cache, "cds-none-*-*.jsa", "!" + slot + "-*");
        assertThat(jsa).exists();

        // that jar rebuilt (new mtime): a new archive replaces its old one
        Files.setLastModifiedTime(copy, FileTime.fromMillis(Files.getLastModifiedTime(copy).toMillis() - 86_400_000L));
        assertThat(launch(other, "--version").out()).isEqualTo(first.out());
        for (int i = 0; i < 300 && Files.exists(copyJsa); i++) {
            Thread.sleep(100);
        }
        assertThat(copyJsa).doesNotExist();
        Path rebuilt = awaitArchive(cache, "cds-none-*-*.jsa", "!" + slot + "-*");
        assertThat(rebuilt).isNotEqualTo(copyJsa);
        assertThat(jsa).exists();
    }

    /**
     * A JDK 25+ for the AOT cache path: {@code -Dvmbackup.test.java25=PATH/bin/java}, else Temurin 25's usual
     * place; the test is skipped without one.
     */
    private static Path java25() {
        return Path.of(System.getProperty("vmbackup.test.java25", "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"));
    }

    @Test
    void onJdk25TheFirstRunRecordsAnAotCacheSilentlyAndTheNextRunMapsIt() throws Exception {
        assumeTrue(Files.isExecutable(java25()), "no JDK 25 at " + java25());
        Path cache = tmp.resolve("cache");
        Path copy = tmp.resolve("vmabackup.jar");
        Files.copy(JAR, copy);
        Map<String, String> env = Map.of("VMABACKUP_CACHE", cache.toString(), "VMABACKUP_JAR", copy.toString(),
                "JAVA", java25().toString());
        Run first = launch(env, "--version");
        assertThat(first.exit()).isZero();
        // the recording JVM's "AOTConfiguration recorded" line would land in a command's output
        assertThat(first.out()).startsWith("vmabackup ").contains("Java 25").doesNotContain("AOT");
        assertThat(first.err()).isEmpty();
        Path aot = awaitArchive(cache, "cds-none-*-*.aot");
        assertThat(archives(cache, ".*")).as("no recording or half-made cache left").isEmpty();

        Path classes = tmp.resolve("classes.txt");
        Map<String, String> logged = new java.util.HashMap<>(env);
        logged.put("JAVA_TOOL_OPTIONS", "-Xlog:class+load:file=" + classes);
        Run second = launch(logged, "--version");
        assertThat(second.exit()).isZero();
        assertThat(second.out()).isEqualTo(first.out());
        assertThat(Files.readString(classes)).contains("org.vmbackup.cli.VmaBackupCli source: shared objects file");

        // the jar rebuilt (new mtime): its cache is recorded again and replaces the old one
        Files.setLastModifiedTime(copy, FileTime.fromMillis(Files.getLastModifiedTime(copy).toMillis() - 86_400_000L));
        assertThat(launch(env, "--version").out()).isEqualTo(first.out());
        Path rebuilt = awaitArchive(cache, "cds-none-*-*.aot");
        assertThat(rebuilt).isNotEqualTo(aot);
        assertThat(aot).doesNotExist();
    }

    @Test
    void withoutAUsableCacheOrWithCdsOffTheLauncherRunsJavaPlainlyAndSilently() throws Exception {
        Path notADir = Files.writeString(tmp.resolve("file"), "x", StandardCharsets.UTF_8);
        Run blocked = launch(Map.of("VMABACKUP_CACHE", notADir.resolve("cache").toString()), "--version");
        assertThat(blocked.exit()).isZero();
        assertThat(blocked.out()).startsWith("vmabackup ");
        assertThat(blocked.err()).isEmpty();

        Path cache = tmp.resolve("cache");
        Run off = launch(Map.of("VMABACKUP_CACHE", cache.toString(), "VMABACKUP_CDS", "0"), "--version");
        assertThat(off.exit()).isZero();
        assertThat(off.out()).isEqualTo(blocked.out());
        Run own = launch(Map.of("VMABACKUP_CACHE", cache.toString(), "JAVA_OPTS", "-Xshare:off"), "--version");
        assertThat(own.exit()).isZero();
        assertThat(own.out()).isEqualTo(blocked.out());
        Thread.sleep(1500); // a publisher would have been started by now
        assertThat(archives(cache, "*")).isEmpty();

        // usage errors keep their exit code through the launcher
        Run usage = launch(Map.of("VMABACKUP_CACHE", cache.toString(), "VMABACKUP_CDS", "0"), "no-such-command");
        assertThat(usage.exit()).isEqualTo(ExitCode.USAGE);
    }
    @Test
    void aStoreCommandsStdoutIsOnlyItsOwnOnJdk17And25() throws Exception {
        // the compiler directives file makes HotSpot announce "2 compiler directives added" on stdout, which a
        // script reading a snapshot id or a listing would take for data; JDK 25 also warns about native access
        List<Path> javas = new java.util.ArrayList<>(List.of(Path.of("java")));
        if (Files.isExecutable(java25())) {
            javas.add(java25());
        }
        for (Path java : javas) {
            Path store = tmp.resolve("store-" + javas.indexOf(java));
            Run init = launch(Map.of("VMABACKUP_CDS", "0", "JAVA", java.toString()), "store", "init", store.toString());
            assertThat(init.exit()).isZero();
            assertThat(init.out()).as(java.toString()).isEqualTo("initialized store " + store
                    + " (chunk size 1048576 bytes, not encrypted, zstd level 1)" + System.lineSeparator());
            assertThat(init.err()).as(java.toString()).isEmpty();
        }
    }
}
