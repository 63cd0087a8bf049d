import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaIndex;

/**
 * Times VmaIndex.open on an archive (ROUNDS times, prints each in ms) and an export's time to its first read through
 * the format-neutral path (ArchiveSource.open + disk(i) for every disk, which indexes the file), then one
 * sequential pass of 2 MiB
 * VmaIndex.read calls over every device (MB/s of the device size). Run as a single-file program:
 * {@code java -cp examples/target/vmabackup.jar benchmarks/VmaIndexOpenBench.java A.vma [ROUNDS [noread]]}
 * ({@code noread}: skip the read pass, e.g. to count the scan's preads with {@code strace -f -c -e trace=pread64}).
 */
public final class VmaIndexOpenBench {
    public static void main(String[] args) throws Exception {
        Path archive = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        StringBuilder opens = new StringBuilder();
        StringBuilder backends = new StringBuilder();
        for (int i = 0; i < rounds; i++) {
            long t0 = System.nanoTime();
            try (VmaIndex idx = VmaIndex.open(archive)) {
                opens.append(String.format("%.1f ", (System.nanoTime() - t0) / 1e6));
            }
            long t1 = System.nanoTime();
            try (ArchiveSource source = ArchiveSource.open(archive)) {
                for (int d = 0; d < source.layout().disks().size(); d++) {
                    source.disk(d);
                }
            }
            backends.append(String.format("%.1f ", (System.nanoTime() - t1) / 1e6));
        }
        System.out.println("VmaIndex.open ms: " + opens.toString().trim());
        System.out.println("ArchiveSource.open + disk(i) for every disk ms: " + backends.toString().trim());
        if (args.length > 2 && args[2].equals("noread")) {
            return;
        }
        try (VmaIndex idx = VmaIndex.open(archive)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(2 << 20);
            for (int r = 0; r < 3; r++) {
                long t0 = System.nanoTime();
                long total = 0;
                for (VmaDevice d : idx.devices()) {
                    for (long off = 0; off < d.size(); off += buf.capacity()) {
                        buf.clear();
                        total += idx.read(d, off, buf);
                    }
                }
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf("VmaIndex.read 2 MiB sequential: %.2f s, %.0f MB/s%n", s, total / s / 1e6);
            }
        }
    }
}
