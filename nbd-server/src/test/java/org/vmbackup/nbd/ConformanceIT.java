package org.vmbackup.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.nbd.backend.FileBackend;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.RequiredTool;

/** Runs the shared NBD conformance battery (nbdinfo, libnbd, qemu-io, nbdcopy, QEMU backup) against our exports. */
class ConformanceIT {
    private static final long SIZE = 128L << 20;

    @TempDir
    Path dir;

    @Test
    void memoryExportPassesTheBattery() throws Exception {
        String out = runBattery(NbdExport.of("mem", new MemoryBackend(SIZE)), "mem");
        assertThat(out).contains("ALL SECTIONS PASSED").doesNotContain("FAIL ");
    }

    @Test
    void fileExportPassesTheBattery() throws Exception {
        Path image = dir.resolve("disk.raw");
        try (var raf = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            raf.setLength(SIZE);
        }
        try (FileBackend file = FileBackend.open(image, false)) {
            String out = runBattery(NbdExport.of("", file), "");
            assertThat(out).contains("ALL SECTIONS PASSED").doesNotContain("FAIL ");
        }
    }

    private String runBattery(NbdExport export, String name) throws Exception {
        for (RequiredTool t : List.of(RequiredTool.NBDINFO, RequiredTool.NBDCOPY, RequiredTool.QEMU_IO,
                RequiredTool.QEMU_IMG, RequiredTool.QEMU_STORAGE_DAEMON)) {
            t.path();
        }
        Path socket = dir.resolve("nbd.sock");
        NbdServer server = NbdServer.builder().unixSocket(socket).export(export).build().start().get(10, TimeUnit.SECONDS);
        try {
            Path script = script();
            // A battery that outlasts its time fails with its output so far (its tools killed with it).
            ProcessResult r = ProcessRunner.command("bash", script.toString(), socket.toString(), name).mergeStderr()
                    .timeout(Duration.ofSeconds(150)).run();
            String out = r.stdout();
            System.out.println(out);
            assertThat(r.exitCode()).as("battery exit status:\n" + out).isZero();
            return out;
        } finally {
            server.close().get(10, TimeUnit.SECONDS);
        }
    }

    static Path script() throws URISyntaxException, IOException {
        return Path.of(ConformanceIT.class.getResource("/nbd-conformance/conformance.sh").toURI());
    }
}
