package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input through the launcher, as a user meets it: a separate JVM whose stderr also carries whatever the
 * logging prints, and whose exit code is the process's. {@link BadInputTest} covers every case in-process; these
 * few prove nothing else reaches stderr in a real run, and that {@code VMABACKUP_DEBUG=1} adds the stack trace.
 */
class BadInputLauncherIT {
    private static final Path LAUNCHER = Path.of("vmabackup").toAbsolutePath();

    @TempDir
    Path tmp;

    private record Run(int exit, String err, long millis) {
    }

    private Run launch(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(tmp.resolve("out.txt").toFile())
                .redirectError(tmp.resolve("err.txt").toFile());
        pb.environment().remove("JAVA_OPTS");
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("VMABACKUP_DEBUG");
        pb.environment().put("VMABACKUP_CDS", "0");
        pb.environment().putAll(env);
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the launcher did not exit within 60 s: " + String.join(" ", args));
        }
        return new Run(p.exitValue(), Files.readString(tmp.resolve("err.txt")),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private static void assertOneLine(Run r, int exit, String expected) {
        assertThat(r.exit()).as(r.err()).isEqualTo(exit);
        assertThat(r.err()).matches("[^\\n]+\\n").doesNotContain("java.").doesNotContain("Exception");
        assertThat(r.err().strip()).matches(expected);
    }

    @Test
    void aMissingArchiveIsOneLine() throws Exception {
        Path archive = tmp.resolve("none.vma");
        assertOneLine(launch(Map.of(), "restore", archive.toString(), "--to", tmp.resolve("out").toString()),
                ExitCode.FAILED, "restore: cannot read archive " + archive + ": no such file");
        assertThat(tmp.resolve("out")).doesNotExist();
    }

    @Test
    void aMissingQmpSocketFailsAtOnceInOneLine() throws Exception {
        Path sock = tmp.resolve("none.sock");
        Run r = launch(Map.of(), "qmp", sock.toString(), "query-status");
        assertOneLine(r, ExitCode.FAILED, "qmp: cannot connect to QMP socket " + sock + ": no such file.*");
        // a JVM start plus one connect attempt, far from the 60 s the retry loop used to take
        assertThat(r.millis()).isLessThan(20_000);
    }

    /**
     * {@code backup --store} opens the store on a thread of its own while it connects to QEMU: both log (netty,
     * the store), and slf4j first used by two threads at once printed "SLF4J(W)" replay lines in about every other
     * run. Several runs, as it was a race.
     */
    @Test
    void aBackupIntoAStoreWithoutQemuIsOneLineEveryTime() throws Exception {
        Path store = tmp.resolve("store");
        assertThat(launch(Map.of(), "store", "init", store.toString()).exit()).isZero();
        Path sock = tmp.resolve("none.sock");
        for (int i = 0; i < 4; i++) {
            assertOneLine(launch(Map.of(), "backup", "--qmp", sock.toString(), "--no-vmstate", "--store",
                    store.toString(), "--vm", "vm1"), ExitCode.FAILED,
                    "backup: cannot connect to QMP socket " + sock + ": no such file.*");
        }
    }

    @Test
    void anOutOfRangeSizeIsAOneLineUsageError() throws Exception {
        assertOneLine(launch(Map.of(), "nbd", "serve", "--memory", "-1", "--socket", tmp.resolve("s").toString()),
                ExitCode.USAGE, "nbd serve: invalid value for option '--memory': size out of range: '-1' "
                        + "\\(see 'vmabackup nbd serve --help'\\)");
    }

    @Test
    void debugAddsTheStackTrace() throws Exception {
        Run r = launch(Map.of("VMABACKUP_DEBUG", "1"), "vma", "list", tmp.resolve("none.vma").toString());
        assertThat(r.exit()).isEqualTo(ExitCode.FAILED);
        assertThat(r.err()).startsWith("vma list: cannot read archive " + tmp.resolve("none.vma") + ": no such file\n")
                .contains("\tat org.vmbackup.cli.");
    }
}
