package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;

/**
 * Index memory does not grow with disk size: a 16 TiB disk (1 MiB chunks: a 512 MiB index, eight times the heap)
 * is backed up, read, verified and backed up incrementally (two such indexes open at once) in a JVM whose heap is
 * 64 MiB. Before the index went off the heap this could not even allocate one index.
 */
class IndexMemoryTest {
    private static final Logger LOG = LoggerFactory.getLogger(IndexMemoryTest.class);
    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void aSixteenTebibyteDiskIsBackedUpReadAndVerifiedInA64MiBHeap() throws Exception {
        ProcessResult r = ProcessRunner.command(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                IndexMemoryMain.class.getName(), tmp.resolve("s").toString(), "16"))
                .timeout(Duration.ofSeconds(580)).run();
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        String last = r.stdout().strip().lines().reduce((a, b) -> b).orElse("");
        LOG.info("16 TiB disk in a forked JVM: {}", last);
        assertThat(last).startsWith("OK ");
        String[] f = last.split(" ");
        long peak = Long.parseLong(f[2]);
        long max = Long.parseLong(f[4]);
        assertThat(max).isLessThanOrEqualTo(64);
        assertThat(peak).isLessThan(512 / 4); // far below one index
    }
}
