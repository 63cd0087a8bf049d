import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.core.ArchiveVisitor;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;

/**
 * Restores disk 0 of a store snapshot into a sparse raw file through the format-neutral read path
 * (ArchiveSource.snapshot + read: chunks fetched, decompressed and checked against their digests), then fsyncs
 * it, and prints the seconds. Stands in for {@code vmabackup restore STORE --snapshot ID --to DIR} until the
 * restore sessions take an ArchiveSource. Run as a single-file program:
 * {@code java -Xmx256m -cp examples/target/vmabackup.jar benchmarks/StoreRestoreBench.java STORE SNAPSHOT OUT.raw}
 */
public final class StoreRestoreBench {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[2]);
        long t0 = System.nanoTime();
        try (ChunkStore store = ChunkStore.open(Path.of(args[0]));
                ArchiveSource src = ArchiveSource.snapshot(store, SnapshotId.parse(args[1]));
                FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(0);
            long size = src.layout().disk(0).size();
            src.read(new ArchiveVisitor() {
                @Override
                public void data(int disk, long offset, ByteBuffer data) throws IOException {
                    if (disk != 0) {
                        return;
                    }
                    ByteBuffer d = data.duplicate();
                    long pos = offset;
                    while (d.hasRemaining()) {
                        pos += ch.write(d, pos);
                    }
                }

                @Override
                public void zero(int disk, long offset, long length) {
                    // a hole: the file is sparse
                }
            });
            if (ch.size() < size) {
                ch.write(ByteBuffer.allocate(1), size - 1); // the tail hole: last byte written as zero
            }
            ch.force(false);
        }
        System.out.printf("%.2f%n", (System.nanoTime() - t0) / 1e9);
    }
}
