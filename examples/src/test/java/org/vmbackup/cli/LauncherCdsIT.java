package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher {@code examples/vmabackup} and its class-data-sharing cache: the first run of a subcommand records an
 * archive, published only once complete; later runs map it; a changed jar gets a new one; any problem with the
 * cache falls back to a plain start, silently.
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
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(tmp.resolve("out.txt").toFile())
                .redirectError(tmp.resolve("err.txt").toFile());
        pb.environment().remove("JAVA_OPTS");
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("VMABACKUP_CDS");
        pb.environment().putAll(env);
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), Files.readString(tmp.resolve("out.txt")), Files.readString(tmp.resolve("err.txt")));
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

    /** Waits until the launcher's background publisher has put exactly one archive matching glob into cache. */
    private static Path awaitArchive(Path cache, String glob) throws Exception {
        for (int i = 0; i < 300; i++) {
            List<Path> found = archives(cache, glob);
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
        Path jsa = awaitArchive(cache, "cds-none-*.jsa");

        Path classes = tmp.resolve("classes.txt");
        Run second = launch(Map.of("VMABACKUP_CACHE", cache.toString(), "JAVA_TOOL_OPTIONS",
                "-Xlog:class+load:file=" + classes), "--version");
        assertThat(second.exit()).isZero();
        assertThat(second.out()).isEqualTo(first.out());
        assertThat(Files.readString(classes)).contains("org.vmbackup.cli.VmaBackupCli source: shared objects file");

        // another subcommand gets its own archive, next to the first
        assertThat(launch(Map.of("VMABACKUP_CACHE", cache.toString()), "vma", "--help").exit()).isZero();
        awaitArchive(cache, "cds-vma-*.jsa");
        assertThat(jsa).exists();

        // a rebuilt jar (new mtime) gets a new key; the archive of the old one is dropped
        Path copy = tmp.resolve("vmabackup.jar");
        Files.copy(JAR, copy);
        Files.setLastModifiedTime(copy, FileTime.fromMillis(Files.getLastModifiedTime(JAR).toMillis() - 86_400_000L));
        Run rebuilt = launch(Map.of("VMABACKUP_CACHE", cache.toString(), "VMABACKUP_JAR", copy.toString()),
                "--version");
        assertThat(rebuilt.exit()).isZero();
        assertThat(rebuilt.err()).isEmpty();
        Path replaced = awaitArchive(cache, "cds-none-*.jsa");
        assertThat(replaced).isNotEqualTo(jsa);
        assertThat(jsa).doesNotExist();
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
}
