package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code backup --proxmox} given bad input: exit code, one line on stderr in words, a fast failure before QEMU is
 * asked anything (the QMP socket refuses, so reaching it would fail differently) and nothing written. The disk
 * without a drive key needs a real VM: {@link ProxmoxBackupIT}. Templates: {@code {d}} is a fresh directory holding
 * {@code dump/} (a dump directory), {@code vm.json} (JSON, not a qemu-server config), {@code comments.conf} (only
 * comments), {@code good.conf}, {@code text.txt} and {@code refused.sock}.
 */
class ProxmoxBadInputTest {
    private static final int USAGE = ExitCode.USAGE;
    private static final int FAILED = ExitCode.FAILED;

    @TempDir
    Path dir;
    @RegisterExtension
    final StdCapture std = new StdCapture();

    @BeforeEach
    void fixture() throws IOException {
        Files.createDirectory(dir.resolve("dump"));
        Files.writeString(dir.resolve("vm.json"), "{\n  \"memory\": 134217728\n}\n");
        Files.writeString(dir.resolve("comments.conf"), "# just a description\n#\n");
        Files.writeString(dir.resolve("good.conf"), "memory: 128\nscsi0: local:vm-105-disk-0,size=1G\n");
        Files.write(dir.resolve("binary.conf"), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        Files.writeString(dir.resolve("text.txt"), "not a directory\n");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(dir.resolve("refused.sock")));
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> c = new ArrayList<>();
        c.add(of("config is JSON", FAILED, "^backup: cannot use Proxmox config .*vm\\.json: not a qemu-server config: "
                + "line 1 is not a qemu-server setting \\('key: value'\\): \\{$",
                "--proxmox", "105", "--dump-dir", "{d}/dump", "--proxmox-conf", "{d}/vm.json"));
        c.add(of("config holds only comments", FAILED, "comments\\.conf: not a qemu-server config: it holds no "
                + "qemu-server setting", "--proxmox", "105", "--dump-dir", "{d}/dump", "--proxmox-conf",
                "{d}/comments.conf"));
        c.add(of("config is binary", FAILED, "binary\\.conf: not a qemu-server config: not UTF-8 text",
                "--proxmox", "105", "--dump-dir", "{d}/dump", "--proxmox-conf", "{d}/binary.conf"));
        c.add(of("config missing", FAILED, "cannot read Proxmox config .*none\\.conf: no such file",
                "--proxmox", "105", "--dump-dir", "{d}/dump", "--proxmox-conf", "{d}/none.conf"));
        c.add(of("VMID below Proxmox's range", USAGE, "--proxmox: VMID 99 is out of Proxmox's range 100 to 999999999",
                "--proxmox", "99", "--dump-dir", "{d}/dump"));
        c.add(of("VMID above Proxmox's range", USAGE, "--proxmox: VMID 1000000000 is out of Proxmox's range",
                "--proxmox", "1000000000", "--dump-dir", "{d}/dump"));
        c.add(of("VMID not a number", USAGE, "--proxmox", "--proxmox", "web", "--dump-dir", "{d}/dump"));
        c.add(of("no dump directory", USAGE, "--proxmox needs --dump-dir DIR", "--proxmox", "105"));
        c.add(of("dump directory missing", FAILED, "cannot use dump directory .*none: no such directory",
                "--proxmox", "105", "--dump-dir", "{d}/none"));
        c.add(of("dump directory is a file", FAILED, "cannot use dump directory .*text\\.txt: not a directory",
                "--proxmox", "105", "--dump-dir", "{d}/text.txt"));
        c.add(of("an ARCHIVE as well", USAGE, "give no ARCHIVE",
                "--proxmox", "105", "--dump-dir", "{d}/dump", "{d}/x.vma"));
        c.add(of("Proxmox options without --proxmox", USAGE, "go with --proxmox VMID",
                "--dump-dir", "{d}/dump", "{d}/x.vma"));
        c.add(of("unknown compression", USAGE, "--compress must be zstd, gzip or none, not xz",
                "--proxmox", "105", "--dump-dir", "{d}/dump", "--compress", "xz"));
        c.add(of("neither ARCHIVE nor --proxmox", USAGE,
                "missing ARCHIVE \\(or --store STORE --vm NAME, or --proxmox VMID --dump-dir DIR\\)"));
        return c.stream();
    }

    private static Arguments of(String name, int exit, String message, String... args) {
        return Arguments.of(name, exit, message, args);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void failsWithOneClearLineBeforeQemuIsAskedAndWritesNothing(String name, int exit, String message,
            String[] template) throws Exception {
        List<String> args = new ArrayList<>(List.of("backup", "--qmp", "{d}/refused.sock"));
        args.addAll(Arrays.asList(template));
        String line = OneLineFailure.check(dir, std, exit, message, args.toArray(String[]::new)).line();
        assertThat(line).as("QEMU was not asked").doesNotContain("refused");
    }
}
