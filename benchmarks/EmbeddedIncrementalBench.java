import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.vmbackup.core.BackupResult;
import org.vmbackup.core.BackupSession;
import org.vmbackup.core.DiskResult;
import org.vmbackup.core.StoreTarget;
import org.vmbackup.store.ChunkStore;

/**
 * The incremental bench's backups run as a management service runs them: in one long-lived JVM, through the
 * library's public API (BackupSession into a StoreTarget, what {@code vmabackup backup --store} builds), so no JVM
 * start, class loading or first-use initialisation after the first backup. Each backup opens the store and its own
 * QMP connection and closes both, as a service's backup job without cached connections would; the time printed
 * covers all of that. Between backups it runs the bench's shell steps (the changes written through QEMU), and after
 * each backup it waits 1.1 s (snapshot ids are whole seconds) and runs {@code sync}, as the script does.
 * Run as a single-file program (Java 17):
 * {@code java -Xmx256m -cp examples/target/vmabackup.jar benchmarks/EmbeddedIncrementalBench.java QMP STORE VM STEP...}
 * where a STEP is {@code backup:LABEL} or {@code run:SHELL-COMMAND} (run with bash -c, output inherited).
 * Prints per backup the lines the script greps from the CLI: "LABEL: T s (load ...)", the disk and its
 * "full|incremental...; sent by QEMU X, new in the store Y" line.
 */
public final class EmbeddedIncrementalBench {
    public static void main(String[] args) throws Exception {
        Path qmp = Path.of(args[0]);
        Path store = Path.of(args[1]);
        String vm = args[2];
        for (int i = 3; i < args.length; i++) {
            String step = args[i];
            if (step.startsWith("backup:")) {
                backup(qmp, store, vm, step.substring("backup:".length()));
            } else if (step.startsWith("run:")) {
                run("bash", "-c", step.substring("run:".length()));
            } else {
                throw new IllegalArgumentException("step: backup:LABEL or run:COMMAND, not " + step);
            }
        }
    }

    private static void backup(Path qmp, Path storeDir, String vm, String label) throws Exception {
        long t0 = System.nanoTime();
        BackupResult r;
        try (ChunkStore store = ChunkStore.open(storeDir)) {
            BackupSession session = BackupSession.builder().qmpSocket(qmp).includeVmstate(false)
                    .target(StoreTarget.of(store, vm)).build();
            r = session.start().get();
        }
        long t1 = System.nanoTime();
        String[] avg = Files.readString(Path.of("/proc/loadavg")).split(" ");
        String load = avg[0] + " " + avg[1] + " " + avg[2];
        System.out.printf(Locale.ROOT, "%s: %.2f s (load %s)%n", label, (t1 - t0) / 1e9, load);
        for (DiskResult d : r.disks()) {
            System.out.printf(Locale.ROOT, "  %s (%s): %s, %s data, %s zero skipped%n", d.name(), d.device(),
                    size(d.size()), size(d.dataBytes()), size(d.zeroBytes()));
            System.out.printf(Locale.ROOT, "    %s; sent by QEMU %s, new in the store %s%n", d.mode(),
                    size(d.dataBytes()), size(d.bytesNew()));
        }
        System.out.flush();
        Thread.sleep(1100);
        run("sync");
    }

    private static void run(String... command) throws Exception {
        int rc = new ProcessBuilder(command).inheritIO().start().waitFor();
        if (rc != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited with " + rc);
        }
    }

    /** As the CLI's reporter prints sizes. */
    private static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
