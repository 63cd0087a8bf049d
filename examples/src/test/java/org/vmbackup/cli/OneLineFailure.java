package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The bad-input case runner the CLI's bad-input tests share: the command, run with {@code {d}} in its arguments
 * standing for the test directory, must end with the given exit code and exactly one line on stderr that matches
 * the message and names no Java class or stack frame, and must leave the test directory as it was.
 */
final class OneLineFailure {
    /** Far above any bad-input case, far below a hang. */
    private static final Duration BOUND = Duration.ofSeconds(30);

    /** The line the command printed, and how long it took. */
    record Outcome(String line, Duration took) {
    }

    private OneLineFailure() {
    }

    static Outcome check(Path dir, StdCapture std, int exit, String message, String... template) throws Exception {
        String[] args = Arrays.stream(template).map(a -> a.replace("{d}", dir.toString())).toArray(String[]::new);
        Set<String> before = tree(dir);
        long t0 = System.nanoTime();
        int code = assertTimeoutPreemptively(BOUND, () -> VmaBackupCli.execute(args));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        String err = std.err.toString(StandardCharsets.UTF_8);

        assertThat(code).as("exit code; stderr: %s", err).isEqualTo(exit);
        assertThat(err).as("stderr").endsWith("\n");
        String line = err.substring(0, err.length() - 1);
        assertThat(line).as("exactly one line on stderr").doesNotContain("\n").isNotBlank();
        assertThat(line).as("no Java names or stack trace").doesNotContain("java.").doesNotContain("Exception")
                .doesNotContain("\tat ").doesNotContainPattern("\\b[a-z]+\\.[a-z]+\\.[A-Z]\\w+");
        assertThat(line).containsPattern(message);
        assertThat(tree(dir)).as("nothing left behind").isEqualTo(before);
        return new Outcome(line, took);
    }

    /** Every path under {@code dir} (with the file size, so a grown file shows too). */
    static Set<String> tree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p) + (Files.isRegularFile(p) ? ":" + size(p) : ""))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }
}
