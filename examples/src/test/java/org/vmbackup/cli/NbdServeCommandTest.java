package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

class NbdServeCommandTest {
    @RegisterExtension
    final StdCapture std = new StdCapture();
    @TempDir
    Path dir;

    @Test
    void sizesUseBinaryUnits() {
        NbdSizeConverter c = new NbdSizeConverter();
        assertThat(c.convert("4096")).isEqualTo(4096L);
        assertThat(c.convert("512M")).isEqualTo(512L << 20);
        assertThat(c.convert("1G")).isEqualTo(1L << 30);
        assertThat(c.convert("2GiB")).isEqualTo(2L << 30);
        assertThat(c.convert("64k")).isEqualTo(64L << 10);
        assertThatThrownBy(() -> c.convert("lots")).isInstanceOf(CommandLine.TypeConversionException.class);
        assertThatThrownBy(() -> c.convert("-1")).isInstanceOf(CommandLine.TypeConversionException.class);
    }

    @Test
    void needsExactlyOneSourceAndOneListener() {
        Path sock = dir.resolve("s.sock");
        assertThat(VmaBackupCli.execute("nbd", "serve", "--memory", "1M")).isEqualTo(ExitCode.USAGE);
        assertThat(VmaBackupCli.execute("nbd", "serve", "--socket", sock.toString())).isEqualTo(ExitCode.USAGE);
        assertThat(VmaBackupCli.execute("nbd", "serve", "--memory", "1M", "--null", "1M", "--socket",
                sock.toString())).isEqualTo(ExitCode.USAGE);
        assertThat(VmaBackupCli.execute("nbd", "serve", "--memory", "1M", "--socket", sock.toString(), "--port",
                "0")).isEqualTo(ExitCode.USAGE);
        assertThat(VmaBackupCli.execute("nbd", "serve", "--memory", "1M", "--port", "0", "--tls-cert", "x"))
                .as("--tls-cert needs --tls-key").isEqualTo(ExitCode.USAGE);
        assertThat(VmaBackupCli.execute("nbd")).isEqualTo(ExitCode.USAGE);
        assertThat(VmaBackupCli.execute("nbd", "serve", "--null", "1M", "--preallocate", "--socket",
                sock.toString())).as("--preallocate needs --memory").isEqualTo(ExitCode.USAGE);
    }

    @Test
    void aPreallocatedExportLargerThanDirectMemoryFailsWithAMessage() {
        // The test JVM's direct memory limit is its heap limit: a 4 TiB export cannot fit.
        assertThat(VmaBackupCli.execute("nbd", "serve", "--memory", "4T", "--preallocate", "--socket",
                dir.resolve("s.sock").toString())).isEqualTo(ExitCode.FAILED);
        assertThat(std.err.toString()).contains("cannot preallocate a memory export of 4398046511104 bytes")
                .contains("MaxDirectMemorySize").doesNotContain("\tat ");
        assertThat(dir.resolve("s.sock")).doesNotExist();
    }

    /**
     * The sequence that hung CI (issue 13): a command that fails while the JVM's warm-up runs closes the warm-up's
     * loop under it, and the next command, out of direct memory, waits for the warm-up before retrying. Each
     * command now ends within the warm-up's bound whatever the timing.
     */
    @Test
    void aCommandThatFailsDuringTheWarmUpDoesNotHoldUpTheNext() {
        assertTimeoutPreemptively(Duration.ofSeconds(90), () -> {
            assertThat(VmaBackupCli.execute("nbd", "serve", "--file", dir.resolve("none.raw").toString(),
                    "--socket", dir.resolve("a.sock").toString())).isEqualTo(ExitCode.FAILED);
            assertThat(VmaBackupCli.execute("nbd", "serve", "--memory", "4T", "--preallocate", "--socket",
                    dir.resolve("b.sock").toString())).isEqualTo(ExitCode.FAILED);
        });
        assertThat(std.err.toString()).contains("cannot preallocate a memory export");
    }

    @ParameterizedTest(name = "warm-up={0}")
    @ValueSource(booleans = {true, false})
    void servesAMemoryExportOnAUnixSocketUntilInterrupted(boolean warmUp) throws Exception {
        Path sock = dir.resolve("nbd.sock");
        AtomicInteger exit = new AtomicInteger(-1);
        Thread serve = new Thread(() -> exit.set(VmaBackupCli.execute("nbd", "serve", "--memory", "1M",
                "--name", "disk", "--socket", sock.toString(), warmUp ? "--warm-up" : "--no-warm-up")));
        serve.start();
        try {
            for (int i = 0; i < 1500 && !Files.exists(sock); i++) {
                Thread.sleep(20);
            }
            assertThat(sock).exists();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock))).isEqualTo("rw-------");
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(sock));
                ByteBuffer greeting = ByteBuffer.allocate(18);
                while (greeting.hasRemaining() && ch.read(greeting) >= 0) {
                    Thread.onSpinWait();
                }
                assertThat(greeting.flip().getLong()).isEqualTo(0x4e42444d41474943L);
            }
        } finally {
            // Also when an assertion failed: a server left serving would outlive the test (issue 13 found one
            // parked in the command's stop.get() after the socket took longer than 10 s to appear under load).
            serve.interrupt();
            serve.join(30_000);
        }
        assertThat(exit.get()).isEqualTo(ExitCode.INTERRUPTED);
        assertThat(sock).doesNotExist();
    }

    @Test
    void missingFileFailsWithAMessage() {
        assertThat(VmaBackupCli.execute("nbd", "serve", "--file", dir.resolve("none.raw").toString(), "--socket",
                dir.resolve("s.sock").toString())).isEqualTo(ExitCode.FAILED);
    }
}
