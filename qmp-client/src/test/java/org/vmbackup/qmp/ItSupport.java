package org.vmbackup.qmp;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.RequiredTool;

/** Helpers shared by the integration tests: external tools and bounded waits. */
final class ItSupport {
    private ItSupport() {
    }

    static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    /** Runs a tool and fails with its output if it exits non-zero. */
    static String run(RequiredTool tool, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(tool.path().toString());
        cmd.addAll(List.of(args));
        return ProcessRunner.command(cmd).mergeStderr().timeout(Duration.ofSeconds(60)).run().requireSuccess()
                .stdout();
    }

    /** Creates a raw image of {@code size} filled with byte {@code pattern} in its first MiB. */
    static Path rawImage(Path file, String size, int pattern) throws IOException, InterruptedException {
        run(RequiredTool.QEMU_IMG, "create", "-q", "-f", "raw", file.toString(), size);
        if (pattern >= 0) {
            run(RequiredTool.QEMU_IO, "-f", "raw", "-c", "write -q -P " + pattern + " 0 1M", file.toString());
        }
        return file;
    }
}
