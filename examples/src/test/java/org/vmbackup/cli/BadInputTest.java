package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.vmbackup.vma.VmaWriter;

/**
 * Every subcommand given bad input: the exit code, exactly one line on stderr that names the problem in words (no
 * Java class names, no stack trace), fast failure where nothing is worth waiting for, and nothing left behind in the
 * working directory. Paths in the arguments are templates: {@code {d}} is a fresh temporary directory holding
 * {@code good.vma} (a valid archive), {@code text.txt} (a text file), {@code cut.vma} (an archive cut in the middle of
 * its header), {@code image.raw}, {@code empty.raw}, {@code refused.sock} (a unix socket file nobody listens on) and
 * {@code silent.sock} (a socket that takes connections but never speaks).
 *
 * <p>Tests run as root, so a permission bit cannot make a file unreadable; the unreadable cases use a path under a
 * regular file ({@code /etc/passwd/x}: "not a directory") and {@code /proc/self/mem} (opens, but reading offset 0
 * fails with an I/O error).
 */
class BadInputTest {
    private static final int USAGE = ExitCode.USAGE;
    private static final int FAILED = ExitCode.FAILED;
    /** What "fails at once" means here: far below any retry loop's timeout (10 s, 60 s). */
    private static final Duration QUICK = Duration.ofSeconds(5);
    /** Written by the reference {@code vma create}; the module's tests run in examples/. */
    private static final Path REFERENCE_VECTOR = Path.of("../vectors/two-disks.vma");

    @TempDir
    Path dir;
    @RegisterExtension
    final StdCapture std = new StdCapture();
    private ServerSocketChannel silent;

    @BeforeEach
    void fixture() throws IOException {
        try (VmaWriter w = VmaWriter.builder().config("qemu-server.conf", "name: t\n".getBytes(StandardCharsets.UTF_8))
                .disk("drive-scsi0", 65536).open(dir.resolve("good.vma"))) {
            w.write(w.device("drive-scsi0"), 0, ByteBuffer.wrap(new byte[65536]).put(0, (byte) 1));
        }
        byte[] whole = Files.readAllBytes(dir.resolve("good.vma"));
        // The header is the first few KiB (magic, uuid, md5, blob area, device list): cut inside it.
        Files.write(dir.resolve("cut.vma"), Arrays.copyOf(whole, 700));
        // The reference tool's archive (vma-format's test vector), cut inside its 12 KiB header.
        byte[] vector = Files.readAllBytes(REFERENCE_VECTOR);
        Files.write(dir.resolve("ref-cut.vma"), Arrays.copyOf(vector, 6000));
        // A compressed archive cut early: the decompressor runs dry inside the header.
        try (VmaWriter w = VmaWriter.builder().disk("drive-scsi0", 65536).open(dir.resolve("good.vma.zst"))) {
            w.write(w.device("drive-scsi0"), 0, ByteBuffer.wrap(new byte[65536]).put(0, (byte) 1));
        }
        byte[] zst = Files.readAllBytes(dir.resolve("good.vma.zst"));
        Files.write(dir.resolve("cut.vma.zst"), Arrays.copyOf(zst, zst.length / 2));
        Files.delete(dir.resolve("good.vma.zst"));
        Files.writeString(dir.resolve("text.txt"), "this is not an archive\n");
        Files.write(dir.resolve("image.raw"), new byte[8192]);
        Files.createFile(dir.resolve("empty.raw"));
        // A socket file that refuses: bound and closed; the file stays, nobody listens on it.
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(dir.resolve("refused.sock")));
        }
        // A socket that takes connections (the kernel's backlog) and never greets: a busy or hung QEMU monitor.
        silent = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        silent.bind(UnixDomainSocketAddress.of(dir.resolve("silent.sock")));
    }

    @AfterEach
    void closeSilent() throws IOException {
        silent.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> c = new ArrayList<>();
        // backup
        c.add(of("backup: missing QMP socket", FAILED, "cannot connect to QMP socket .*none\\.sock: no such file",
                "backup", "--qmp", "{d}/none.sock", "{d}/out.vma"));
        c.add(of("backup: QMP socket refuses", FAILED, "QMP socket .*refused\\.sock.*refused",
                "backup", "--qmp", "{d}/refused.sock", "{d}/out.vma"));
        c.add(of("backup: QMP socket is a text file", FAILED, "text\\.txt.*not a socket",
                "backup", "--qmp", "{d}/text.txt", "{d}/out.vma"));
        c.add(of("backup: QMP socket is a directory", FAILED, "not a socket",
                "backup", "--qmp", "{d}", "{d}/out.vma"));
        c.add(of("backup: missing config file", FAILED, "cannot read config file .*none\\.conf: no such file",
                "backup", "--qmp", "{d}/refused.sock", "-c", "{d}/none.conf", "{d}/out.vma"));
        c.add(of("backup: config file is a directory", FAILED, "cannot read config file .*: is a directory",
                "backup", "--qmp", "{d}/refused.sock", "-c", "{d}", "{d}/out.vma"));
        c.add(of("backup: archive exists", FAILED, "good\\.vma.*already exists",
                "backup", "--qmp", "{d}/refused.sock", "{d}/good.vma"));
        c.add(of("backup: archive directory missing", FAILED, "nodir.*no such directory",
                "backup", "--qmp", "{d}/refused.sock", "{d}/nodir/out.vma"));
        c.add(of("backup: archive under a file", FAILED, "text\\.txt.*not a directory",
                "backup", "--qmp", "{d}/refused.sock", "{d}/text.txt/out.vma"));
        c.add(of("backup: negative wait", USAGE, "--wait.*",
                "backup", "--qmp", "{d}/none.sock", "--wait", "-1", "{d}/out.vma"));
        c.add(of("backup: wait beyond a day", USAGE, "--wait.*0 to 86400",
                "backup", "--qmp", "{d}/none.sock", "--wait", "100000", "{d}/out.vma"));
        c.add(of("backup: wait not a number", USAGE, "--wait.*",
                "backup", "--qmp", "{d}/none.sock", "--wait", "soon", "{d}/out.vma"));
        // restore --to
        c.add(of("restore: missing archive", FAILED, "^restore: cannot read archive .*none\\.vma: no such file$",
                "restore", "{d}/none.vma", "--to", "{d}/out"));
        c.add(of("restore: archive is a directory", FAILED, "cannot read archive .*: is a directory",
                "restore", "{d}", "--to", "{d}/out"));
        c.add(of("restore: archive is text", FAILED, "text\\.txt.*not a VMA archive",
                "restore", "{d}/text.txt", "--to", "{d}/out"));
        c.add(of("restore: archive cut in its header", FAILED, "cut\\.vma.*truncated",
                "restore", "{d}/cut.vma", "--to", "{d}/out"));
        c.add(of("restore: archive under a file", FAILED, "cannot read archive /etc/passwd/x: .*not a directory",
                "restore", "/etc/passwd/x", "--to", "{d}/out"));
        c.add(of("restore: archive unreadable", FAILED, "cannot read archive /proc/self/mem: input/output error",
                "restore", "/proc/self/mem", "--to", "{d}/out"));
        c.add(of("restore: target is a file", FAILED, "text\\.txt.*not a directory",
                "restore", "{d}/good.vma", "--to", "{d}/text.txt"));
        c.add(of("restore: target under a file", FAILED, "text\\.txt.*not a directory",
                "restore", "{d}/good.vma", "--to", "{d}/text.txt/out"));
        c.add(of("restore: unknown format", USAGE, "--format must be raw or qcow2",
                "restore", "{d}/good.vma", "--to", "{d}/out", "--format", "vmdk"));
        c.add(of("restore: unknown disk", FAILED, "no-such-disk",
                "restore", "{d}/good.vma", "--to", "{d}/out", "--disk", "no-such-disk"));
        // restore --qmp
        c.add(of("restore --qmp: missing socket", FAILED, "cannot connect to QMP socket .*none\\.sock: no such file",
                "restore", "{d}/good.vma", "--qmp", "{d}/none.sock", "--work-dir", "{d}/work"));
        c.add(of("restore --qmp: socket refuses", FAILED, "refused\\.sock.*refused",
                "restore", "{d}/good.vma", "--qmp", "{d}/refused.sock", "--work-dir", "{d}/work"));
        c.add(of("restore --qmp: missing archive", FAILED, "cannot read archive .*none\\.vma: no such file",
                "restore", "{d}/none.vma", "--qmp", "{d}/refused.sock", "--work-dir", "{d}/work"));
        c.add(of("restore --qmp: archive is text", FAILED, "text\\.txt.*not a VMA archive",
                "restore", "{d}/text.txt", "--qmp", "{d}/refused.sock", "--work-dir", "{d}/work"));
        c.add(of("restore --qmp: negative wait", USAGE, "--wait",
                "restore", "{d}/good.vma", "--qmp", "{d}/none.sock", "--wait", "-3"));
        // restore --live
        c.add(of("restore --live: missing archive", FAILED, "cannot read archive .*none\\.vma: no such file",
                "restore", "{d}/none.vma", "--live", "{d}/live", "--qmp", "{d}/q.sock"));
        c.add(of("restore --live: archive cut in its header", FAILED, "cut\\.vma.*truncated",
                "restore", "{d}/cut.vma", "--live", "{d}/live", "--qmp", "{d}/q.sock", "--wait", "1"));
        c.add(of("restore --live: archive is text", FAILED, "text\\.txt.*not a VMA archive",
                "restore", "{d}/text.txt", "--live", "{d}/live", "--qmp", "{d}/q.sock", "--wait", "1"));
        c.add(of("restore --live: image directory is a file", FAILED, "text\\.txt.*not a directory",
                "restore", "{d}/good.vma", "--live", "{d}/text.txt", "--qmp", "{d}/q.sock", "--wait", "1"));
        c.add(of("restore --live: negative bandwidth limit", USAGE, "--bwlimit",
                "restore", "{d}/good.vma", "--live", "{d}/live", "--qmp", "{d}/q.sock", "--bwlimit", "-5"));
        c.add(of("restore --live: bandwidth limit beyond 64 bits", USAGE, "--bwlimit",
                "restore", "{d}/good.vma", "--live", "{d}/live", "--qmp", "{d}/q.sock", "--bwlimit",
                "99999999999999999999"));
        c.add(of("restore --live: needs --qmp", USAGE, "--live needs --qmp",
                "restore", "{d}/good.vma", "--live", "{d}/live", "--to", "{d}/out"));
        // vma list / config / verify
        c.add(of("vma list: missing archive", FAILED, "^vma list: cannot read archive .*none\\.vma: no such file$",
                "vma", "list", "{d}/none.vma"));
        c.add(of("vma list: archive is a directory", FAILED, "cannot read archive .*: is a directory",
                "vma", "list", "{d}"));
        c.add(of("vma list: archive is text", FAILED, "text\\.txt.*not a VMA archive",
                "vma", "list", "{d}/text.txt"));
        c.add(of("vma list: archive cut in its header", FAILED, "cut\\.vma.*truncated",
                "vma", "list", "{d}/cut.vma"));
        c.add(of("vma list: empty archive", FAILED, "cannot read archive .*empty\\.raw: the file is empty",
                "vma", "list", "{d}/empty.raw"));
        c.add(of("vma verify: reference archive cut in its header", FAILED, "ref-cut\\.vma.*truncated",
                "vma", "verify", "{d}/ref-cut.vma"));
        c.add(of("vma list: compressed archive cut short", FAILED, "cannot read archive .*cut\\.vma\\.zst: .*",
                "vma", "list", "{d}/cut.vma.zst"));
        c.add(of("restore: reference archive cut in its header", FAILED, "ref-cut\\.vma.*truncated",
                "restore", "{d}/ref-cut.vma", "--to", "{d}/out"));
        c.add(of("restore: compressed archive cut short", FAILED, "cannot read archive .*cut\\.vma\\.zst: .*",
                "restore", "{d}/cut.vma.zst", "--to", "{d}/out"));
        c.add(of("vma config: archive cut in its header", FAILED, "cut\\.vma.*truncated",
                "vma", "config", "{d}/cut.vma"));
        c.add(of("vma config: archive under a file", FAILED, "/etc/passwd/x: .*not a directory",
                "vma", "config", "/etc/passwd/x"));
        c.add(of("vma verify: archive unreadable", FAILED, "cannot read archive /proc/self/mem: input/output error",
                "vma", "verify", "/proc/self/mem"));
        c.add(of("vma verify: archive is text", FAILED, "text\\.txt.*not a VMA archive",
                "vma", "verify", "{d}/text.txt"));
        c.add(of("vma verify: missing archive", FAILED, "cannot read archive .*none\\.vma: no such file",
                "vma", "verify", "{d}/none.vma"));
        // vma extract
        c.add(of("vma extract: missing archive", FAILED, "cannot read archive .*none\\.vma: no such file",
                "vma", "extract", "{d}/none.vma", "{d}/x"));
        c.add(of("vma extract: archive cut in its header", FAILED, "cut\\.vma.*truncated",
                "vma", "extract", "{d}/cut.vma", "{d}/x"));
        c.add(of("vma extract: target exists", FAILED, "cannot create target directory .*: it already exists",
                "vma", "extract", "{d}/good.vma", "{d}"));
        c.add(of("vma extract: target under a file", FAILED, "text\\.txt.*not a directory",
                "vma", "extract", "{d}/good.vma", "{d}/text.txt/x"));
        c.add(of("vma extract: target's directory missing", FAILED, "nodir.*no such directory",
                "vma", "extract", "{d}/good.vma", "{d}/nodir/x"));
        // vma create
        c.add(of("vma create: missing image", FAILED, "^vma create: cannot read image .*none: no such file$",
                "vma", "create", "{d}/new.vma", "drive-x={d}/none"));
        c.add(of("vma create: image is a directory", FAILED, "cannot read image .*: is a directory",
                "vma", "create", "{d}/new.vma", "drive-x={d}"));
        c.add(of("vma create: image is empty", FAILED, "image .*empty\\.raw is empty",
                "vma", "create", "{d}/new.vma", "{d}/empty.raw"));
        c.add(of("vma create: image unreadable", FAILED, "/proc/self/mem",
                "vma", "create", "{d}/new.vma", "-d", "m={d}/image.raw", "-d", "n=/proc/self/mem"));
        c.add(of("vma create: missing config", FAILED, "cannot read config file .*none\\.conf: no such file",
                "vma", "create", "{d}/new.vma", "-c", "{d}/none.conf", "{d}/image.raw"));
        c.add(of("vma create: archive exists", FAILED, "cannot create archive .*good\\.vma: it already exists",
                "vma", "create", "{d}/good.vma", "{d}/image.raw"));
        c.add(of("vma create: archive directory missing", FAILED, "nodir.*no such directory",
                "vma", "create", "{d}/nodir/new.vma", "{d}/image.raw"));
        c.add(of("vma create: unsupported image format", USAGE, "only format=raw",
                "vma", "create", "{d}/new.vma", "-d", "format=qcow2:x={d}/image.raw"));
        c.add(of("vma create: device spec without a name", USAGE, "DEVNAME=PATH",
                "vma", "create", "{d}/new.vma", "-d", "{d}/image.raw"));
        c.add(of("vma create: zero threads", USAGE, "--threads",
                "vma", "create", "{d}/new.vma", "--threads", "0", "{d}/image.raw"));
        // nbd serve
        c.add(of("nbd serve: zero memory size", USAGE, "--memory.*at least 1",
                "nbd", "serve", "--memory", "0", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: negative memory size", USAGE, "--memory.*out of range",
                "nbd", "serve", "--memory", "-1", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: overflowing memory size", USAGE, "--memory.*out of range",
                "nbd", "serve", "--memory", "99999999999T", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: memory size beyond a long", USAGE, "--memory.*out of range",
                "nbd", "serve", "--memory", "99999999999999999999", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: memory size not a number", USAGE, "--memory.*not a size",
                "nbd", "serve", "--memory", "lots", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: zero null size", USAGE, "--null.*at least 1",
                "nbd", "serve", "--null", "0", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: missing file", FAILED, "cannot read image .*none\\.raw: no such file",
                "nbd", "serve", "--file", "{d}/none.raw", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: file is a directory", FAILED, "cannot read image .*: is a directory",
                "nbd", "serve", "--file", "{d}", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: missing archive", FAILED, "cannot read archive .*none\\.vma: no such file",
                "nbd", "serve", "--vma", "{d}/none.vma", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: archive is text", FAILED, "text\\.txt.*not a VMA archive",
                "nbd", "serve", "--vma", "{d}/text.txt", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: archive cut in its header", FAILED, "cut\\.vma.*truncated",
                "nbd", "serve", "--vma", "{d}/cut.vma", "--socket", "{d}/s.sock"));
        c.add(of("nbd serve: socket directory missing", FAILED, "nodir.*no such directory",
                "nbd", "serve", "--null", "1M", "--socket", "{d}/nodir/s.sock", "--no-warm-up"));
        c.add(of("nbd serve: socket path taken by a file", FAILED, "text\\.txt.*already exists",
                "nbd", "serve", "--null", "1M", "--socket", "{d}/text.txt", "--no-warm-up"));
        c.add(of("nbd serve: port out of range", USAGE, "--port.*0 to 65535",
                "nbd", "serve", "--null", "1M", "--port", "70000"));
        c.add(of("nbd serve: negative port", USAGE, "--port.*0 to 65535",
                "nbd", "serve", "--null", "1M", "--port", "-1"));
        c.add(of("nbd serve: address not on this machine", FAILED, "cannot listen on .*192\\.0\\.2\\.1",
                "nbd", "serve", "--null", "1M", "--port", "0", "--bind", "192.0.2.1", "--no-warm-up"));
        c.add(of("nbd serve: missing TLS certificate", FAILED, "none\\.pem.*no such file",
                "nbd", "serve", "--null", "1M", "--port", "0", "--tls-cert", "{d}/none.pem", "--tls-key",
                "{d}/none.key", "--no-warm-up"));
        c.add(of("nbd serve: TLS certificate is text", FAILED, "text\\.txt",
                "nbd", "serve", "--null", "1M", "--port", "0", "--tls-cert", "{d}/text.txt", "--tls-key",
                "{d}/text.txt", "--no-warm-up"));
        // qmp
        c.add(of("qmp: missing socket", FAILED, "^qmp: cannot connect to QMP socket .*none\\.sock: no such file",
                "qmp", "{d}/none.sock", "query-status"));
        c.add(of("qmp: socket refuses", FAILED, "refused\\.sock.*refused",
                "qmp", "{d}/refused.sock", "query-status"));
        c.add(of("qmp: socket is a text file", FAILED, "text\\.txt.*not a socket",
                "qmp", "{d}/text.txt", "query-status"));
        c.add(of("qmp: socket that never greets", FAILED,
                "no QMP greeting from .*silent\\.sock within 1 s \\(a QEMU QMP socket serves one client at a time",
                "qmp", "{d}/silent.sock", "query-status", "--timeout", "1"));
        c.add(of("qmp: waited for a socket that never came", FAILED, "none\\.sock within 1 s: no such file",
                "qmp", "{d}/none.sock", "query-status", "--wait", "1"));
        c.add(of("qmp: wait beyond a day", USAGE, "--wait.*0 to 86400",
                "qmp", "{d}/none.sock", "query-status", "--wait", "9223372036854775807"));
        c.add(of("qmp: zero timeout", USAGE, "--timeout",
                "qmp", "{d}/refused.sock", "query-status", "--timeout", "0"));
        c.add(of("qmp: arguments not JSON", USAGE, "JSON-ARGS must be a JSON object",
                "qmp", "{d}/refused.sock", "query-status", "{nope"));
        c.add(of("qmp: negative event count", USAGE, "--count",
                "qmp", "{d}/refused.sock", "--events", "--count", "-1"));
        return c.stream();
    }

    private static Arguments of(String name, int exit, String message, String... args) {
        return Arguments.of(name, exit, message, args);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void failsWithOneClearLineAndLeavesNothingBehind(String name, int exit, String message, String[] template)
            throws Exception {
        Duration took = OneLineFailure.check(dir, std, exit, message, template).took();
        assertThat(took).as("fails at once").isLessThan(message.contains("within 1 s") ? QUICK.plusSeconds(1) : QUICK);
    }

    @Test
    void aLiveRestoreWhoseQemuNeverComesSaysSoAndRemovesItsImages() throws Exception {
        Set<String> before = tree();
        int code = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> VmaBackupCli.execute("restore",
                dir.resolve("good.vma").toString(), "--live", dir.resolve("live").toString(), "--qmp",
                dir.resolve("refused.sock").toString(), "--wait", "1"));
        String err = std.err.toString(StandardCharsets.UTF_8);
        assertThat(code).as(err).isEqualTo(FAILED);
        // the live flow prints how to start QEMU first; the error is the last line, and the only one after those
        List<String> lines = err.lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(1)).startsWith("Start QEMU with: ");
        assertThat(lines.get(2)).matches("restore: no QEMU listening on .*refused\\.sock after 1 s")
                .doesNotContain("java.").doesNotContain("Exception");
        assertThat(tree()).as("no images left behind").isEqualTo(before);
    }

    @ParameterizedTest(name = "{0} with text on stdin")
    @ValueSource(strings = {"vma list -", "vma extract - {d}/x", "restore - --to {d}/out"})
    void textOnStdinIsNotAnArchive(String command) throws Exception {
        Set<String> before = tree();
        java.io.InputStream oldIn = System.in;
        System.setIn(new java.io.ByteArrayInputStream("this is not an archive\n".getBytes(StandardCharsets.UTF_8)));
        int code;
        try {
            code = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> VmaBackupCli.execute(
                    command.replace("{d}", dir.toString()).split(" ")));
        } finally {
            System.setIn(oldIn);
        }
        String err = std.err.toString(StandardCharsets.UTF_8);
        assertThat(code).as(err).isEqualTo(FAILED);
        assertThat(err)
                .matches("[a-z ]+: cannot read archive on stdin: offset 0: not a VMA archive \\(bad magic\\)\n");
        assertThat(tree()).as("nothing left behind").isEqualTo(before);
    }

    private Set<String> tree() throws IOException {
        return OneLineFailure.tree(dir);
    }
}
