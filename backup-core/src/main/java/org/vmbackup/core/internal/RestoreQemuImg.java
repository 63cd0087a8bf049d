package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.vmbackup.core.BackupException;

/** Runs {@code qemu-img convert} into a qcow2 image and turns a failure into a message with its output. */
public final class RestoreQemuImg {
    /** A conversion's time besides the copy itself. */
    private static final Duration BASE_TIMEOUT = Duration.ofMinutes(5);
    /** The slowest copy rate waited for: far below any disk's (1 TiB: 36 h). */
    private static final long MIN_BYTES_PER_SECOND = 8L << 20;

    private RestoreQemuImg() {
    }

    /**
     * {@code qemu-img convert -f <sourceFormat> -O qcow2 <source> <target>}; the source may be a file or an NBD URI.
     *
     * @param bandwidthLimit bytes/s for {@code qemu-img convert -r}, 0 for unlimited
     * @throws BackupException if qemu-img fails (its output is in the message)
     */
    public static void convert(Path qemuImg, String sourceFormat, String source, Path target, long bandwidthLimit)
            throws IOException {
        run(withRate(List.of(qemuImg.toString(), "convert", "-q", "-f", sourceFormat, "-O", "qcow2", source,
                target.toString()), bandwidthLimit), source, target);
    }

    /**
     * {@code qemu-img convert -n}: writes {@code source} into the existing image {@code target} of format
     * {@code targetFormat} and the same virtual size (e.g. a not yet activated disk of an incoming QEMU).
     *
     * @param bandwidthLimit bytes/s for {@code qemu-img convert -r}, 0 for unlimited
     */
    public static void convertInto(Path qemuImg, String sourceFormat, String source, String targetFormat, Path target,
            long bandwidthLimit) throws IOException {
        run(withRate(List.of(qemuImg.toString(), "convert", "-q", "-n", "-f", sourceFormat, "-O", targetFormat,
                source, target.toString()), bandwidthLimit), source, target);
    }

    /** {@code cmd} with {@code -r BYTES} after the subcommand when limited (qemu-img reads a bare number as bytes). */
    static List<String> withRate(List<String> cmd, long bandwidthLimit) {
        if (bandwidthLimit == 0) {
            return cmd;
        }
        List<String> out = new java.util.ArrayList<>(cmd);
        out.addAll(2, List.of("-r", Long.toString(bandwidthLimit)));
        return out;
    }

    /**
     * The bound on one conversion: a local file-to-file copy; generous for a slow disk, but a qemu-img that
     * stops (a hung storage, a lock it waits for) fails the restore instead of holding it for ever.
     */
    static Duration timeoutFor(long sourceBytes) {
        return BASE_TIMEOUT.plusSeconds(sourceBytes / MIN_BYTES_PER_SECOND);
    }

    private static void run(List<String> cmd, String source, Path target) throws IOException {
        Path sourceFile = Path.of(source);
        long bytes = Files.isRegularFile(sourceFile) ? Files.size(sourceFile) : 0;
        String what = "qemu-img convert of " + source + " to " + target;
        ToolProcess p = ToolProcess.start(cmd);
        try {
            ToolProcess.Outcome o = p.await(timeoutFor(bytes), what);
            if (o.exitCode() != 0) {
                throw new BackupException(what + " failed (exit " + o.exitCode() + "): " + o.output());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted while converting " + source + " to " + target, e);
        }
    }
}
