import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdExport;
import org.vmbackup.nbd.NbdServer;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.nbd.backend.NullBackend;

/**
 * The server side of benchmarks/nbd-bench.sh: like {@code vmabackup nbd serve}, but with the memory export
 * preallocated ({@link MemoryBackend#preallocated}) as {@code nbdkit memory allocator=malloc} is, so both
 * servers have touched their memory before they listen. {@code sparse-memory} is the lazily allocated
 * default ({@code vmabackup nbd serve --memory}), compared with nbdkit's sparse allocator.
 * Usage: {@code NbdBenchServer memory|sparse-memory|null BYTES SOCKET}.
 * Serves until killed.
 */
public final class NbdBenchServer {
    public static void main(String[] args) throws Exception {
        long size = Long.parseLong(args[1]);
        NbdBackend backend = switch (args[0]) {
            case "memory" -> MemoryBackend.preallocated(size);
            case "sparse-memory" -> new MemoryBackend(size);
            case "null" -> new NullBackend(size);
            default -> throw new IllegalArgumentException("backend must be memory, sparse-memory or null: " + args[0]);
        };
        NbdServer server = NbdServer.builder().unixSocket(Path.of(args[2])).export(NbdExport.of("", backend))
                .build().start().get();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> server.close().join()));
        new CountDownLatch(1).await();
    }
}
